// ctl_ioctl on /dev/mapper/control (dm-ioctl.c), the checks every command
// goes through before its handler, in the kernel's order:
//   1. CAP_SYS_ADMIN (EACCES): every process of the model has it;
//   2. the type byte (ENOTTY): the dispatcher sends only DM_* names here;
//   3. check_version: EINVAL unless the major matches and the minor is not
//      newer than the kernel's; the kernel's version is written back even
//      then (G:L88-93);
//   4. DM_VERSION stops: only the version was written;
//   5. copy_params: data_size below offsetof(data) (305) is EINVAL; a
//      NO_PARAMS command copies in the header alone;
//   6. validate_params: BUFFER_FULL, UEVENT_GENERATED, SECURE_DATA and
//      DATA_OUT cleared; a create needs a name; name and uuid together are
//      EINVAL; the arrays' last bytes forced to NUL;
//   7. data_size := 305 and the handler runs with the caller's size;
//   8. on success the header (and the payload data_size covers) is copied
//      back; on failure only the version was, so the caller keeps its own
//      header with the kernel's version in it (SysError.result).
// Bits no handler looks at stay in `flags` and come back (G:L153); the
// padding word is never touched (G:L155). docs/linux-model.md §5.3.

import type { StepContext } from "../../sim/op";
import { SysError } from "../../sim/op";
import { fail, type Kernel } from "../kernel";
import type { DmCall } from "./call";
import { COMMANDS, runCommand } from "./commands";
import { CopiedBack, cloneParam, decodeParam, encodeResult, truncateBytes, type DmParam, type DmResult } from "./header";
import { checkVersion, defaultSizes, hiddenBits, strictChecks } from "./strict";
import { DM_DATA_OFFSET, DM_FLAGS, DM_IOCTL_SIZE, DM_NAME_LEN, DM_UUID_LEN, type DmCommand } from "./uapi";

const F = DM_FLAGS;

/** What the caller's buffer holds when the ioctl fails: its own header, with what the kernel wrote before failing. */
function failedWith(e: unknown, input: DmParam, secureWiped: boolean): never {
  if (!(e instanceof SysError)) throw e;
  let result: DmResult;
  if (e.result instanceof CopiedBack) result = encodeResult(e.result.param);
  else if (secureWiped) result = encodeResult(wiped(input));
  else result = encodeResult(input);
  throw new SysError(e.errno, e.message.slice(e.errno.length + 2), result);
}

/** DM_SECURE_DATA_FLAG: copy_params clears the caller's buffer as soon as it is copied in. */
function wiped(p: DmParam): DmParam {
  return { ...cloneParam(p), version: [0, 0, 0], data_size: 0, data_start: 0, target_count: 0, open_count: 0, flags: 0, event_nr: 0, padding: 0, dev: { major: 0, minor: 0 }, name: "", uuid: "", out: {} };
}

export function dmControlIoctl(ctx: StepContext, k: Kernel, name: string, arg: unknown): DmResult | number {
  const cmd = name as DmCommand;
  const row = COMMANDS[cmd];
  if (!row) fail("ENOTTY", `${name} is not a dm command`);
  const version = (arg as { version?: unknown } | undefined)?.version;
  const input = decodeParam(arg, defaultSizes(k, version, row));
  // 3. check_version writes the kernel's version back, pass or fail.
  const v = checkVersion(k, input.version);
  input.version = v.reply;
  if (!v.ok) fail("EINVAL", `ioctl interface mismatch: kernel ${v.reply.join(".")}, caller ${(version as number[] | undefined)?.join(".") ?? "4.0.0"}`, encodeResult(input));
  // 4.
  if (row.handler === null) return encodeResult(input);
  const p = cloneParam(input);
  const secure = (p.flags & F.DM_SECURE_DATA_FLAG) !== 0;
  try {
    // 5. copy_params
    if (p.data_size < DM_DATA_OFFSET) fail("EINVAL", `invalid data size in the ioctl structure: ${p.data_size}`);
    if (v.strict) {
      strictChecks(k, cmd, row, p);
      if (p.expectDiskseq === 0) p.expectDiskseq = p.padding;
    }
    if (row.noParams) {
      p.data_size = DM_DATA_OFFSET;
      p.targets = [];
      p.newName = p.message = p.geometry = undefined;
    }
    const size = p.data_size;
    // 6. validate_params
    p.flags &= ~(F.DM_BUFFER_FULL_FLAG | F.DM_UEVENT_GENERATED_FLAG | F.DM_SECURE_DATA_FLAG | F.DM_DATA_OUT_FLAG);
    if (cmd !== "DM_REMOVE_ALL" && cmd !== "DM_LIST_DEVICES" && cmd !== "DM_LIST_VERSIONS") {
      if (cmd === "DM_DEV_CREATE") {
        if (p.name === "") fail("EINVAL", "name not supplied when creating a device");
      } else if (p.uuid !== "" && p.name !== "") {
        fail("EINVAL", `only supply one of name or uuid (${cmd})`);
      }
      p.name = truncateBytes(p.name, DM_NAME_LEN - 1);
      p.uuid = truncateBytes(p.uuid, DM_UUID_LEN - 1);
    }
    const hidden = hiddenBits(k, v.strict, p.flags);
    p.flags = (p.flags & ~hidden) >>> 0;
    // 7.
    p.data_size = DM_DATA_OFFSET;
    const call: DmCall = { ctx, k, d: ctx.who.domain, p, size, strict: v.strict };
    const r = runCommand(row, call);
    if (r !== 0) return encodeResult(input);
    p.flags = (p.flags | hidden) >>> 0;
    if (!v.strict) delete p.diskseq;
    else if (p.data_size === DM_DATA_OFFSET) p.data_size = DM_IOCTL_SIZE;
    // 8. copy_to_user(user, param, param->data_size): nothing when a command set it to 0.
    if (p.data_size === 0) return encodeResult(secure ? wiped(input) : input);
    return encodeResult(p);
  } catch (e) {
    return failedWith(e, input, secure);
  }
}
