import { ipvlan } from "./ipvlan.ts";
export default ipvlan;
