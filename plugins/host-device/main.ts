import { hostDevice } from "./host-device.ts";
export default hostDevice;
