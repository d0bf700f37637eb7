import { loopback } from "./loopback.ts";
export default loopback;
