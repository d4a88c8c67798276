/**
 * The runtime-neutral surface of src/io: everything except node-files.ts,
 * so browsers, Deno and workers can import it whole.
 */
export { InputError, OutputError, type InputErrorLocation } from './errors.js';
export { blobSource, bytesSource, checkRange, subSource, type ByteSource } from './source.js';
export { checkChunkRows, type EmbeddingReader, type RowChunk, type RowData, type RowDtype } from './reader.js';
export {
  checkNpyDataSize,
  embeddingDtype,
  encodeNpy,
  encodeNpyHeader,
  itemSize,
  MAX_NPY_HEADER_BYTES,
  openNpy,
  readNpyHeader,
  type NpyArray,
  type NpyDtype,
  type NpyHeader,
} from './npy.js';
export { openNpz, openNpzArray, type NpzFile } from './npz.js';
export { readZipDirectory, type ZipDirectory, type ZipEntry } from './zip.js';
export { openTorchFile, type TorchFile } from './torch.js';
export { openSafetensors, type SafetensorsFile } from './safetensors.js';
export { unpickle, type PickleValue, type UnpickleOptions } from './pickle.js';
export {
  asyncBufferOf,
  openParquet,
  writeParquetTable,
  type EmbeddingColumnOptions,
  type ParquetColumn,
  type ParquetInput,
  type ParquetTable,
  type RowRange,
} from './parquet.js';
export {
  CLIP_SCORE_COLUMN,
  canonicalJson,
  concatScoreTables,
  encodeScoreFile,
  isScoreColumn,
  METADATA_KEYS,
  NEGCLIP_LOSS_COLUMN,
  NORMSIM_COLUMN_PREFIX,
  normSimColumn,
  openScoreFile,
  parameterDifferences,
  readScoreTable,
  SCORE_FILE_SUFFIX,
  scoreFileName,
  scoreMetadata,
  UID_COLUMN,
  type KeyColumn,
  type ScoreFile,
  type ScoreFileContents,
  type ScoreParameters,
  type ScoreProvenance,
  type ScoreTable,
  type TargetIdentity,
} from './score-file.js';
export { readMetadataColumns, type MetadataTable } from './metadata.js';
export { compareUids, formatUid, parseUids, sortUids, UID_WORDS, uidCount, uidHalves, uidOrder } from './uid.js';
export {
  decodeSubsetFile,
  encodeSubsetFile,
  encodeSubsetHeader,
  encodeSubsetRecords,
  readSubsetFile,
} from './subset-file.js';
export { concatKeyColumn, encodeKeyList, encodeKeyParquet, gatherKeyColumn, keyText } from './key-file.js';
export {
  baseName,
  dirName,
  joinPath,
  memoryFileSystem,
  pathKindIn,
  type FileSystem,
  type PathKind,
} from './file-system.js';
export {
  ARCH_DIMS,
  detectLayout,
  listClipRetrievalShards,
  listDataCompShards,
  listShards,
  openEmbeddingFile,
  openShard,
  resolveInputs,
  type Arch,
  type ClipRetrievalOptions,
  type DataCompOptions,
  type EmbeddingFileOptions,
  type KeyColumns,
  type LayoutKind,
  type ResolvedShard,
  type Shard,
  type ShardRef,
} from './layouts.js';
export { openHttpSource, type RemoteOptions } from './http.js';
export {
  isS3Url,
  listS3,
  openS3Source,
  parseS3Url,
  putS3Object,
  s3Config,
  type S3Config,
  type S3Options,
} from './s3.js';
export { isRemotePath, listRemote, openRemote, remoteFileSystem } from './remote.js';
