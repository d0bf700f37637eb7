import { bridge } from "./bridge.ts";
export default bridge;
