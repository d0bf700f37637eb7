// pkg/cni/valid-attachments.test.ts: GC's `cni.dev/valid-attachments` decoded with Go's rules and texts. No root.
import { expect, test } from "bun:test";
import { loadValidAttachments } from "./valid-attachments.ts";

const bytes = (o: object) => new TextEncoder().encode(JSON.stringify(o));
const base = { cniVersion: "1.1.0", name: "net", type: "x" };

test("an absent or null list is undefined (nothing known), null entries are dropped, missing fields are empty", () => {
  expect(loadValidAttachments(bytes(base))).toBeUndefined();
  expect(loadValidAttachments(bytes({ ...base, "cni.dev/valid-attachments": null }))).toBeUndefined();
  expect(loadValidAttachments(bytes({ ...base, "cni.dev/valid-attachments": [] }))).toEqual([]);
  expect(loadValidAttachments(bytes({ ...base, "cni.dev/valid-attachments": [{ containerID: "c1", ifname: "eth0" }, null, { containerID: "c2" }] }))).toEqual([
    { containerID: "c1", ifname: "eth0" },
    { containerID: "c2", ifname: "" },
  ]);
});

test("wrong types carry encoding/json's text, the list's own naming the plugin's struct", () => {
  expect(() => loadValidAttachments(bytes({ ...base, "cni.dev/valid-attachments": [{ containerID: 5 }] }))).toThrow(
    "json: cannot unmarshal number into Go struct field GCAttachment.cni.dev/valid-attachments.containerID of type string",
  );
  expect(() => loadValidAttachments(bytes({ ...base, "cni.dev/valid-attachments": 5 }))).toThrow(
    "json: cannot unmarshal number into Go struct field NetConf.cni.dev/valid-attachments of type []types.GCAttachment",
  );
  expect(() => loadValidAttachments(bytes({ ...base, "cni.dev/valid-attachments": 5 }), "PluginConf")).toThrow(
    "json: cannot unmarshal number into Go struct field PluginConf.cni.dev/valid-attachments of type []types.GCAttachment",
  );
});
