import { staticIpam } from "./static.ts";
export default staticIpam;
