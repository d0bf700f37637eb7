import { tuning } from "./tuning.ts";
export default tuning;
