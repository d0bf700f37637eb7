import { dummy } from "./dummy.ts";
export default dummy;
