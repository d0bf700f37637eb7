import { vlan } from "./vlan.ts";
export default vlan;
