/**
 * PyTorch `.pt` / `.pth` files as torch.save writes them since 1.6: a zip archive holding
 * `<archive>/data.pkl` (a pickle describing the saved object, with tensors as references to storages)
 * and `<archive>/data/<key>` (each storage's raw little-endian elements, stored uncompressed).
 *
 * The pickle is read by io/pickle.ts with a table of exactly the globals a saved tensor uses
 * (torch._utils._rebuild_tensor_v2, _rebuild_parameter, the float storage types,
 * collections.OrderedDict); any other global — `os.system`, a model class — is refused before
 * anything could be applied. Nothing is executed: "rebuilding" a tensor only records where its
 * elements are, and rows are read from the storage entry on demand.
 *
 * The saved object may be a tensor, or a dict / list / tuple holding tensors (DataComp's ImageNet
 * features are `{'image_features': tensor}`); `key` picks an entry, optional when there is one tensor.
 */
import { InputError } from './errors.js';
import { unpickle, type PickleCallable, type PickleToken, type PickleValue } from './pickle.js';
import type { EmbeddingReader } from './reader.js';
import { subSource, type ByteSource } from './source.js';
import { openTensor, type TensorDtype } from './tensor.js';
import { entryDataOffset, readZipDirectory, STORED, type ZipEntry } from './zip.js';

/** The pickle is a few kilobytes for a dict of tensors; refuse to buffer an absurd one. */
const MAX_PICKLE_BYTES = 64 << 20;

const STORAGE_DTYPES: Record<string, TensorDtype> = {
  HalfStorage: 'f2',
  FloatStorage: 'f4',
  DoubleStorage: 'f8',
  BFloat16Storage: 'bf16',
};

/** A storage reference, as a persistent id resolves to. */
interface StorageRef {
  readonly kind: 'object';
  readonly type: 'storage';
  readonly dtype: TensorDtype | undefined;
  readonly storageType: string;
  readonly key: string;
}

/** A tensor as the pickle describes it: a view into a storage. */
interface TensorRef {
  readonly kind: 'object';
  readonly type: 'tensor';
  readonly storage: StorageRef;
  readonly offset: number;
  readonly shape: number[];
  readonly strides: number[];
}

/** An opened .pt file: the tensors it holds, by key. */
export interface TorchFile {
  readonly name: string;
  /** Keys of the tensors it holds: '' for a bare tensor, dict keys, or list indices as strings. */
  readonly keys: string[];
  /** Opens one tensor as embeddings (rows × dim, or one row for a 1-D tensor). */
  open(key?: string): Promise<EmbeddingReader>;
}

function token(name: string): PickleToken {
  return { kind: 'token', name };
}

/**
 * Reads the archive directory and the pickle of the torch.save file in `source`.
 * @throws {InputError} for the legacy (pre-1.6) format, a refused pickle global, or a malformed archive
 */
export async function openTorchFile(source: ByteSource): Promise<TorchFile> {
  const { name } = source;
  const magic = source.size >= 4 ? await source.read(0, 4) : new Uint8Array(0);
  if (!(magic[0] === 0x50 && magic[1] === 0x4b)) {
    throw new InputError(
      name,
      magic[0] === 0x80
        ? 'is a legacy torch.save file (before PyTorch 1.6, or _use_new_zipfile_serialization=False); re-save it with a current torch.save'
        : 'is not a PyTorch file (torch.save writes a zip archive)',
    );
  }
  const directory = await readZipDirectory(source);
  const pickleEntry = directory.entries.find((e) => e.name === 'data.pkl' || e.name.endsWith('/data.pkl'));
  if (!pickleEntry) throw new InputError(name, 'is a zip archive without data.pkl: not a torch.save file');
  const prefix = pickleEntry.name.slice(0, -'data.pkl'.length);
  const entries = new Map(directory.entries.map((e) => [e.name, e]));
  const byteorder = entries.get(`${prefix}byteorder`);
  if (byteorder) {
    const order = new TextDecoder().decode(await readStored(source, directory, byteorder)).trim();
    if (order !== 'little') throw new InputError(name, `stores ${order}-endian tensors; only little-endian is read`);
  }
  if (pickleEntry.uncompressedSize > MAX_PICKLE_BYTES)
    throw new InputError(name, `data.pkl is ${pickleEntry.uncompressedSize} bytes, too large for a file of tensors`);
  const pickle = await readStored(source, directory, pickleEntry);

  const callable = (qualified: string, call: (args: PickleValue[]) => PickleValue): PickleCallable => ({
    kind: 'callable',
    name: qualified,
    call,
  });
  const rebuildTensor = callable('torch._utils._rebuild_tensor_v2', (args) => tensorRef(name, args));
  const value = unpickle(name, pickle, {
    globals(module, global) {
      if (module === 'torch._utils' && (global === '_rebuild_tensor_v2' || global === '_rebuild_tensor'))
        return rebuildTensor;
      if (module === 'torch._utils' && global === '_rebuild_parameter')
        return callable('torch._utils._rebuild_parameter', (args) => args[0] ?? null);
      if (module === 'torch' && global in STORAGE_DTYPES) return token(global);
      if (module === 'torch' && /^[A-Z][A-Za-z0-9]*Storage$/.test(global)) return token(global);
      if (module === 'collections' && global === 'OrderedDict')
        return callable('collections.OrderedDict', () => new Map());
      return undefined;
    },
    persistentLoad(pid) {
      if (!Array.isArray(pid) || pid[0] !== 'storage' || pid.length < 3)
        throw new InputError(name, 'data.pkl has a persistent id that is not a storage');
      const type = pid[1] as PickleToken;
      const storageType = type && typeof type === 'object' && 'kind' in type ? type.name : String(type);
      const ref: StorageRef = {
        kind: 'object',
        type: 'storage',
        storageType,
        dtype: STORAGE_DTYPES[storageType],
        key: String(pid[2]),
      };
      return ref as unknown as PickleValue;
    },
  });

  const tensors = new Map<string, TensorRef>();
  if (isTensor(value)) tensors.set('', value);
  else if (value instanceof Map) {
    for (const [key, entry] of value) if (isTensor(entry)) tensors.set(String(key), entry);
  } else if (Array.isArray(value)) {
    value.forEach((entry, index) => {
      if (isTensor(entry)) tensors.set(String(index), entry);
    });
  }
  const keys = [...tensors.keys()];
  const describe = () =>
    keys.length === 0 ? 'no tensors at its top level' : `tensors ${keys.map((k) => `'${k}'`).join(', ')}`;

  return {
    name,
    keys,
    async open(key) {
      let chosen: string | undefined = key;
      if (chosen === undefined) {
        if (keys.length !== 1)
          throw new InputError(name, `holds ${describe()}; pick one with --target-key`, { field: 'key' });
        chosen = keys[0]!;
      }
      const tensor = tensors.get(chosen);
      if (!tensor) throw new InputError(name, `has no tensor '${chosen}' (it holds ${describe()})`, { field: chosen });
      const label = chosen === '' ? name : `${name}:${chosen}`;
      const { storage } = tensor;
      if (!storage.dtype)
        throw new InputError(
          label,
          `is a ${storage.storageType.replace(/Storage$/, '')} tensor; embeddings must be float16, bfloat16, float32 or float64`,
          { field: 'dtype' },
        );
      const entry = entries.get(`${prefix}data/${storage.key}`);
      if (!entry)
        throw new InputError(name, `storage ${storage.key} of tensor '${chosen}' is missing from the archive`);
      if (entry.method !== STORED)
        throw new InputError(name, `storage ${storage.key} is compressed; torch.save stores storages uncompressed`);
      const start = await entryDataOffset(source, directory, entry);
      return openTensor({
        name: label,
        source: subSource(source, start, entry.uncompressedSize, `${name}:${entry.name}`),
        dtype: storage.dtype,
        shape: tensor.shape,
        strides: tensor.strides,
        offset: tensor.offset,
      });
    },
  };
}

async function readStored(
  source: ByteSource,
  directory: Awaited<ReturnType<typeof readZipDirectory>>,
  entry: ZipEntry,
): Promise<Uint8Array> {
  if (entry.method !== STORED)
    throw new InputError(source.name, `entry ${entry.name} is compressed; torch.save stores its entries uncompressed`);
  const start = await entryDataOffset(source, directory, entry);
  return source.read(start, entry.uncompressedSize);
}

function isTensor(value: PickleValue): value is TensorRef & PickleValue {
  return typeof value === 'object' && value !== null && 'type' in value && value.type === 'tensor';
}

/** `_rebuild_tensor_v2(storage, storage_offset, size, stride, requires_grad, backward_hooks, …)`. */
function tensorRef(file: string, args: PickleValue[]): PickleValue {
  const [storage, offset, shape, strides] = args;
  const ints = (v: PickleValue) => Array.isArray(v) && v.every((x) => typeof x === 'number' && Number.isSafeInteger(x));
  if (
    !(typeof storage === 'object' && storage !== null && 'type' in storage && storage.type === 'storage') ||
    typeof offset !== 'number' ||
    !ints(shape) ||
    !ints(strides) ||
    (shape as number[]).length !== (strides as number[]).length
  )
    throw new InputError(file, 'data.pkl rebuilds a tensor from arguments that do not describe a tensor');
  const tensor: TensorRef = {
    kind: 'object',
    type: 'tensor',
    storage: storage as unknown as StorageRef,
    offset,
    shape: shape as number[],
    strides: strides as number[],
  };
  return tensor as unknown as PickleValue;
}
