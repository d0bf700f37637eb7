import { tap } from "./tap.ts";
export default tap;
