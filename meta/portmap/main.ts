import { portmap } from "./portmap.ts";
export default portmap;
