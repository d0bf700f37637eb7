// Placeholder until the plugin lands: registered so the build and VERSION work; every verb says so.
import { notImplemented } from "../../pkg/cni/not-implemented.ts";
export default notImplemented("macvlan");
