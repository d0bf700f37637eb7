import { flannel } from "./flannel.ts";
export default flannel;
