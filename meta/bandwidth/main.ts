import { bandwidth } from "./bandwidth.ts";
export default bandwidth;
