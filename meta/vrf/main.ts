import { vrf } from "./vrf.ts";
export default vrf;
