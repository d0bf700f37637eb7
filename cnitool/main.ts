import { cnitool } from "./cnitool.ts";
export default cnitool;
