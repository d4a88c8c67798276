/**
 * Files from a drop or a file picker, with their paths: dropping a clip-retrieval folder (img_emb/,
 * text_emb/, metadata/) or a DataComp metadata folder keeps the folder and the layout's directories,
 * so io's resolveInputs sees the folder as the CLI sees a directory argument.
 */
import type { DroppedFile } from './protocol.js';

/** Everything dropped: plain files at the top, folders walked recursively. */
export async function filesFromDrop(transfer: DataTransfer): Promise<DroppedFile[]> {
  const entries = Array.from(transfer.items)
    .map((item) => item.webkitGetAsEntry?.())
    .filter((entry): entry is FileSystemEntry => Boolean(entry));
  if (entries.length === 0) return Array.from(transfer.files, (file) => ({ path: file.name, file }));
  const found: DroppedFile[] = [];
  // Paths keep the dropped folders' names: each dropped item is one input, as a path on the command line.
  for (const entry of entries) await walk(entry, found);
  return found;
}

/** Files chosen with the picker (no folders there). */
export function filesFromInput(input: HTMLInputElement): DroppedFile[] {
  return Array.from(input.files ?? [], (file) => ({ path: file.name, file }));
}

async function walk(entry: FileSystemEntry, found: DroppedFile[]): Promise<void> {
  const path = entry.fullPath.replace(/^\//, '');
  if (entry.isFile) {
    const file = await new Promise<File>((resolve, reject) => (entry as FileSystemFileEntry).file(resolve, reject));
    found.push({ path, file });
    return;
  }
  const reader = (entry as FileSystemDirectoryEntry).createReader();
  // readEntries hands out a directory's entries in batches until it returns an empty one.
  for (;;) {
    const batch = await new Promise<FileSystemEntry[]>((resolve, reject) => reader.readEntries(resolve, reject));
    if (batch.length === 0) break;
    for (const child of batch) await walk(child, found);
  }
}
