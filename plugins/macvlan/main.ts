import { macvlan } from "./macvlan.ts";
export default macvlan;
