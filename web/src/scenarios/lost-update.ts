// Two toolstacks count the VMs they start in one state file: read the
// number, add one, write it back. Nothing stops both from reading before
// either writes.
import { scenario, type Sys } from "blocklab";

const COUNTER = "/run/blocklab/vms-started";

async function countStart(sys: Sys): Promise<void> {
  const n = Number(await sys.readFile(COUNTER));
  await sys.writeFile(COUNTER, String(n + 1));
}

export default scenario({
  title: "Lost update: two toolstacks bump one counter file",
  files: {
    [COUNTER]: { content: "0" },
  },
  actors: {
    "toolstack-a": countStart,
    "toolstack-b": countStart,
  },
  invariants: [
    "progress",
    {
      name: "every start counted",
      atEnd: true,
      check: (world) => {
        const n = world.readFile("dom0", COUNTER);
        return n === "2" ? undefined : `two VMs started but ${COUNTER} says ${n}: one update was lost`;
      },
    },
  ],
});
