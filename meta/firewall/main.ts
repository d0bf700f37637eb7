import { firewall } from "./firewall.ts";
export default firewall;
