import { sbr } from "./sbr.ts";
export default sbr;
