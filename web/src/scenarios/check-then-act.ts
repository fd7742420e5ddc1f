// Two toolstacks each want the virtual disk slot 51712 (xvda) for their VM.
// Each checks that nobody has claimed it, then claims it and goes on as its
// owner. The check and the claim are two steps: the other can claim the slot
// in between, and both act as its owner.
import { scenario, type Sys } from "blocklab";

const SLOT = "/run/blocklab/vbd-51712";

function claimFor(vm: string) {
  return async (sys: Sys): Promise<void> => {
    if (await sys.exists(SLOT)) {
      await sys.log(`${SLOT} is taken; ${vm} will use another slot`);
      return;
    }
    await sys.writeFile(SLOT, vm); // claim it...
    await sys.writeFile(`/run/blocklab/${vm}.disk`, SLOT); // ...and act as its owner
  };
}

export default scenario({
  title: "Check then act: two toolstacks claim one disk slot",
  domains: { work: {}, vault: {} },
  actors: {
    "toolstack-work": claimFor("work"),
    "toolstack-vault": claimFor("vault"),
  },
  invariants: [
    "progress",
    {
      name: "one owner",
      check: (world) => {
        const owner = world.readFile("dom0", SLOT);
        for (const vm of ["work", "vault"]) {
          if (world.exists("dom0", `/run/blocklab/${vm}.disk`) && owner !== vm) {
            return `${vm}'s toolstack acts as the owner of ${SLOT}, but the slot now names ${owner}`;
          }
        }
        return undefined;
      },
    },
  ],
});
