import { dhcp } from "./dhcp.ts";
export default dhcp;
