import { ptp } from "./ptp.ts";
export default ptp;
