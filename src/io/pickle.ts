/**
 * A restricted reader of Python pickles: it builds plain data (numbers, strings, tuples, lists, dicts)
 * and never runs anything. A pickle names the callables it wants applied with GLOBAL / STACK_GLOBAL
 * opcodes; this reader resolves each name through the caller's `globals` table and refuses every name
 * that is not in it, with an error naming the file and the global. So a hostile file (`os.system`,
 * `builtins.eval`, …) stops at its first GLOBAL, before any REDUCE could apply it.
 *
 * Only the opcodes of protocols 2–5 that data-only pickles use are implemented (torch.save writes
 * protocol 2); protocol 0/1 text opcodes, object construction (NEWOBJ, INST, OBJ) and extension codes
 * are refused as unsupported.
 */
import { InputError } from './errors.js';

/** A callable the caller allows, as returned by its `globals` resolver. */
export interface PickleCallable {
  readonly kind: 'callable';
  /** module.name, for messages. */
  readonly name: string;
  /** Applies the callable to REDUCE's argument tuple. Must only build data. */
  call(args: PickleValue[]): PickleValue;
}

/** A non-callable value a global resolves to (e.g. a storage type token). */
export interface PickleToken {
  readonly kind: 'token';
  readonly name: string;
}

/** What unpickling produces. Tuples and lists are both arrays; dicts are Maps. */
export type PickleValue =
  | null
  | boolean
  | number
  | bigint
  | string
  | Uint8Array
  | PickleValue[]
  | Map<PickleValue, PickleValue>
  | PickleCallable
  | PickleToken
  | { readonly kind: 'object'; readonly [key: string]: unknown };

export interface UnpickleOptions {
  /** Resolves `module.name` to a callable or token; undefined refuses it. */
  globals(module: string, name: string): PickleCallable | PickleToken | undefined;
  /** Resolves a persistent id (BINPERSID); undefined means the file may not use them. */
  persistentLoad?(pid: PickleValue): PickleValue;
}

const MARK = Symbol('mark');
type StackItem = PickleValue | typeof MARK;

/** Most memo entries and stack items accepted: a tensor pickle has a few dozen. */
const MAX_ITEMS = 1 << 20;

/**
 * Reads one pickle from `bytes`.
 * @param file named in every error
 * @throws {InputError} for a refused global, an unsupported opcode, or malformed bytes
 */
export function unpickle(file: string, bytes: Uint8Array, options: UnpickleOptions): PickleValue {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const stack: StackItem[] = [];
  const memo = new Map<number, PickleValue>();
  let at = 0;

  const fail = (problem: string): never => {
    throw new InputError(file, `pickle byte ${at}: ${problem}`);
  };
  const need = (n: number) => {
    if (at + n > bytes.length) fail('truncated');
  };
  const u8 = () => {
    need(1);
    return bytes[at++]!;
  };
  const u16 = () => {
    need(2);
    const v = view.getUint16(at, true);
    at += 2;
    return v;
  };
  const u32 = () => {
    need(4);
    const v = view.getUint32(at, true);
    at += 4;
    return v;
  };
  const i32 = () => {
    need(4);
    const v = view.getInt32(at, true);
    at += 4;
    return v;
  };
  const u64 = () => {
    need(8);
    const v = view.getBigUint64(at, true);
    at += 8;
    if (v > BigInt(bytes.length)) fail(`length ${v} is beyond the pickle`);
    return Number(v);
  };
  const take = (n: number) => {
    need(n);
    const out = bytes.subarray(at, at + n);
    at += n;
    return out;
  };
  const utf8 = (n: number) => new TextDecoder('utf-8', { fatal: false }).decode(take(n));
  const line = () => {
    const end = bytes.indexOf(0x0a, at);
    if (end < 0) fail('truncated: a GLOBAL name has no end of line');
    const text = new TextDecoder('latin1').decode(bytes.subarray(at, end));
    at = end + 1;
    return text;
  };
  const push = (value: StackItem) => {
    if (stack.length >= MAX_ITEMS) fail('too many stack items');
    stack.push(value);
  };
  const pop = (): PickleValue => {
    const value = stack.pop();
    if (value === undefined) fail('stack underflow');
    if (value === MARK) fail('unexpected MARK');
    return value as PickleValue;
  };
  const top = (): PickleValue => {
    if (stack.length === 0) fail('stack underflow');
    const value = stack[stack.length - 1]!;
    if (value === MARK) fail('unexpected MARK');
    return value as PickleValue;
  };
  const popMark = (): PickleValue[] => {
    const mark = stack.lastIndexOf(MARK);
    if (mark < 0) fail('no MARK');
    const items = stack.splice(mark) as PickleValue[];
    items.shift();
    return items;
  };
  const memoPut = (index: number) => {
    if (memo.size >= MAX_ITEMS && !memo.has(index)) fail('too many memo entries');
    memo.set(index, top());
  };
  const memoGet = (index: number) => {
    if (!memo.has(index)) fail(`memo entry ${index} is not defined`);
    push(memo.get(index)!);
  };
  const resolve = (module: string, name: string) => {
    const found = options.globals(module, name);
    if (!found)
      throw new InputError(
        file,
        `refusing to load: the pickle refers to ${module}.${name}, which is not a tensor (only tensor data is read, nothing is executed)`,
        { field: `${module}.${name}` },
      );
    push(found);
  };
  const setItems = (dict: PickleValue, items: PickleValue[]) => {
    if (!(dict instanceof Map)) fail('SETITEM on something that is not a dict');
    for (let i = 0; i + 1 < items.length; i += 2) (dict as Map<PickleValue, PickleValue>).set(items[i]!, items[i + 1]!);
  };
  const append = (list: PickleValue, items: PickleValue[]) => {
    if (!Array.isArray(list)) fail('APPEND on something that is not a list');
    (list as PickleValue[]).push(...items);
  };

  for (;;) {
    const opcodeAt = at;
    const op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) fail('pickle protocol newer than 5');
        break;
      case 0x95: // FRAME
        take(8);
        break;
      case 0x2e: // STOP
        return pop();
      case 0x28: // MARK
        push(MARK);
        break;
      case 0x29: // EMPTY_TUPLE
        push([]);
        break;
      case 0x74: // TUPLE
        push(popMark());
        break;
      case 0x85: // TUPLE1
        push([pop()]);
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        push([pop(), b]);
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        push([pop(), b, c]);
        break;
      }
      case 0x5d: // EMPTY_LIST
        push([]);
        break;
      case 0x6c: // LIST
        push(popMark());
        break;
      case 0x61: {
        // APPEND
        const item = pop();
        append(top(), [item]);
        break;
      }
      case 0x65: {
        // APPENDS
        const items = popMark();
        append(top(), items);
        break;
      }
      case 0x7d: // EMPTY_DICT
        push(new Map());
        break;
      case 0x64: {
        // DICT
        const dict = new Map<PickleValue, PickleValue>();
        setItems(dict, popMark());
        push(dict);
        break;
      }
      case 0x73: {
        // SETITEM
        const value = pop();
        const key = pop();
        setItems(top(), [key, value]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x4e: // NONE
        push(null);
        break;
      case 0x88: // NEWTRUE
        push(true);
        break;
      case 0x89: // NEWFALSE
        push(false);
        break;
      case 0x4b: // BININT1
        push(u8());
        break;
      case 0x4d: // BININT2
        push(u16());
        break;
      case 0x4a: // BININT
        push(i32());
        break;
      case 0x8a: // LONG1
        push(longValue(take(u8())));
        break;
      case 0x8b: {
        // LONG4
        const n = i32();
        if (n < 0) fail('negative LONG4 length');
        push(longValue(take(n)));
        break;
      }
      case 0x47: {
        // BINFLOAT (big-endian)
        need(8);
        push(view.getFloat64(at, false));
        at += 8;
        break;
      }
      case 0x58: // BINUNICODE
        push(utf8(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
        push(utf8(u8()));
        break;
      case 0x8d: // BINUNICODE8
        push(utf8(u64()));
        break;
      case 0x55: // SHORT_BINSTRING
        push(new TextDecoder('latin1').decode(take(u8())));
        break;
      case 0x54: // BINSTRING
        push(new TextDecoder('latin1').decode(take(u32())));
        break;
      case 0x43: // SHORT_BINBYTES
        push(take(u8()).slice());
        break;
      case 0x42: // BINBYTES
        push(take(u32()).slice());
        break;
      case 0x8e: // BINBYTES8
        push(take(u64()).slice());
        break;
      case 0x71: // BINPUT
        memoPut(u8());
        break;
      case 0x72: // LONG_BINPUT
        memoPut(u32());
        break;
      case 0x94: // MEMOIZE
        memoPut(memo.size);
        break;
      case 0x68: // BINGET
        memoGet(u8());
        break;
      case 0x6a: // LONG_BINGET
        memoGet(u32());
        break;
      case 0x63: {
        // GLOBAL
        const module = line();
        resolve(module, line());
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') fail('STACK_GLOBAL needs two strings');
        resolve(module as string, name as string);
        break;
      }
      case 0x51: {
        // BINPERSID
        const pid = pop();
        if (!options.persistentLoad) fail('persistent ids are not allowed here');
        push(options.persistentLoad!(pid));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        const callable = pop();
        if (!Array.isArray(args)) fail('REDUCE arguments are not a tuple');
        if (!callable || typeof callable !== 'object' || !('kind' in callable) || callable.kind !== 'callable')
          fail('REDUCE of something that is not an allowed callable');
        push((callable as PickleCallable).call(args as PickleValue[]));
        break;
      }
      case 0x62: {
        // BUILD: only dicts (OrderedDict state such as a state_dict's _metadata) are accepted; the state is ignored.
        pop();
        if (!(top() instanceof Map)) fail('BUILD of something other than a dict');
        break;
      }
      default:
        at = opcodeAt;
        fail(`unsupported pickle opcode 0x${op.toString(16).padStart(2, '0')} (only data pickles are read)`);
    }
  }
}

/** A two's-complement little-endian integer; a number when it is safe, else a bigint. */
function longValue(bytes: Uint8Array): number | bigint {
  if (bytes.length === 0) return 0;
  let value = 0n;
  for (let i = bytes.length - 1; i >= 0; i--) value = (value << 8n) | BigInt(bytes[i]!);
  if (bytes[bytes.length - 1]! & 0x80) value -= 1n << BigInt(8 * bytes.length);
  return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
}
