/**
 * s3://bucket/key objects: ranged reads, prefix listing (ListObjectsV2) and whole-object writes, with
 * requests signed by aws4fetch (SigV4 over WebCrypto, so it runs in Node, Deno, browsers and workers).
 *
 * Configuration comes from the usual AWS environment variables (see s3Config); with an endpoint
 * (AWS_ENDPOINT_URL, for S3-compatible stores) requests are path-style, otherwise virtual-hosted AWS.
 */
import { AwsClient } from 'aws4fetch';
import { InputError, OutputError } from './errors.js';
import {
  discard,
  fetchIdle,
  openRemoteSource,
  type RemoteOptions,
  remoteSettings,
  type RequestMaker,
  failure,
  withRetries,
} from './http.js';
import type { ByteSource } from './source.js';

/** Where and as whom S3 requests go. */
export interface S3Config {
  region: string;
  /** Custom endpoint (scheme://host[:port]); requests are then path-style. */
  endpoint?: string;
  accessKeyId?: string;
  secretAccessKey?: string;
  sessionToken?: string;
  /** Where the credentials came from, for messages (e.g. 'AWS_ACCESS_KEY_ID'). */
  credentialSource?: string;
}

/** S3 options: the remote-read options plus the configuration (default: from `env`). */
export interface S3Options extends RemoteOptions {
  config?: S3Config;
  /** Environment to read the AWS_* variables from (default: none; Node's node-files.ts passes its environment). */
  env?: Record<string, string | undefined>;
}

/** Whether `path` is an s3:// URL. */
export function isS3Url(path: string): boolean {
  return /^s3:\/\//i.test(path);
}

/**
 * Split s3://bucket/key into its parts.
 * @throws {InputError} if there is no bucket
 */
export function parseS3Url(url: string): { bucket: string; key: string } {
  const match = /^s3:\/\/([^/]+)\/?(.*)$/i.exec(url);
  if (!match) throw new InputError(url, 'is not an s3://bucket/key URL');
  return { bucket: match[1]!, key: match[2]! };
}

/**
 * The S3 configuration from AWS environment variables: AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
 * AWS_SESSION_TOKEN, AWS_REGION (or AWS_DEFAULT_REGION; default us-east-1), AWS_ENDPOINT_URL_S3 or
 * AWS_ENDPOINT_URL. Without a key pair requests go unsigned (public buckets).
 */
export function s3Config(env: Record<string, string | undefined> = {}): S3Config {
  const config: S3Config = { region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1' };
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL;
  if (endpoint) config.endpoint = endpoint.replace(/\/+$/, '');
  if (env.AWS_ACCESS_KEY_ID && env.AWS_SECRET_ACCESS_KEY) {
    config.accessKeyId = env.AWS_ACCESS_KEY_ID;
    config.secretAccessKey = env.AWS_SECRET_ACCESS_KEY;
    config.credentialSource = 'AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY';
    if (env.AWS_SESSION_TOKEN) {
      config.sessionToken = env.AWS_SESSION_TOKEN;
      config.credentialSource += ' with AWS_SESSION_TOKEN';
    }
  }
  return config;
}

function encodeKey(key: string): string {
  return key.split('/').map(encodeURIComponent).join('/');
}

/** A client for one configuration: URLs of objects, signing, and what to say on a 403. */
class S3Client {
  readonly aws?: AwsClient;
  constructor(readonly config: S3Config) {
    if (config.accessKeyId && config.secretAccessKey) {
      this.aws = new AwsClient({
        accessKeyId: config.accessKeyId,
        secretAccessKey: config.secretAccessKey,
        ...(config.sessionToken ? { sessionToken: config.sessionToken } : {}),
        region: config.region,
        service: 's3',
        retries: 0,
      });
    }
  }

  objectUrl(bucket: string, key: string, query = ''): string {
    const path = key === '' ? '' : encodeKey(key);
    const base = this.config.endpoint
      ? `${this.config.endpoint}/${bucket}/${path}`
      : `https://${bucket}.s3.${this.config.region}.amazonaws.com/${path}`;
    return query ? `${base}?${query}` : base;
  }

  async request(url: string, init: RequestInit): Promise<Request> {
    if (!this.aws) return new Request(url, init);
    return this.aws.sign(url, init);
  }

  denied(): string {
    const { accessKeyId, credentialSource } = this.config;
    if (!accessKeyId)
      return 'no credentials: the request was unsigned; set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY';
    return `credentials: access key id ${accessKeyId} from ${credentialSource}`;
  }
}

function clientFor(options: S3Options): S3Client {
  return new S3Client(options.config ?? s3Config(options.env ?? {}));
}

/**
 * Open s3://bucket/key as a ByteSource read by signed ranged GETs.
 * @throws {InputError} naming the URL on a 4xx (a 403 says which credentials were used) or exhausted retries
 */
export function openS3Source(url: string, options: S3Options = {}): Promise<ByteSource> {
  const client = clientFor(options);
  const { bucket, key } = parseS3Url(url);
  if (key === '' || key.endsWith('/')) throw new InputError(url, 'names no object (a prefix, not a file)');
  const target = client.objectUrl(bucket, key);
  const maker: RequestMaker = {
    name: url,
    request: (method, headers) => client.request(target, { method, headers }),
    denied: () => client.denied(),
  };
  return openRemoteSource(maker, options);
}

function xmlText(text: string): string {
  return text
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&quot;/g, '"')
    .replace(/&apos;/g, "'")
    .replace(/&#(\d+);/g, (_, code: string) => String.fromCodePoint(Number(code)))
    .replace(/&#x([0-9a-f]+);/gi, (_, code: string) => String.fromCodePoint(parseInt(code, 16)))
    .replace(/&amp;/g, '&');
}

function xmlValues(xml: string, tag: string): string[] {
  return [...xml.matchAll(new RegExp(`<${tag}>([\\s\\S]*?)</${tag}>`, 'g'))].map((m) => xmlText(m[1]!));
}

/**
 * The entries directly under s3://bucket/prefix/ (ListObjectsV2 with delimiter '/'), as names relative to
 * the prefix, sorted: objects by name, sub-prefixes by their name (without the trailing '/').
 * @throws {InputError} naming the URL when nothing lies under the prefix, or on a request failure
 */
export async function listS3(url: string, options: S3Options = {}): Promise<string[]> {
  const { objects, prefixes } = await listS3Prefix(url, options);
  return [...new Set([...objects.map((o) => o.name), ...prefixes])].sort();
}

/** An object directly under a prefix, as its listing describes it. */
export interface S3Object {
  /** Relative to the prefix. */
  name: string;
  size: number;
  /** The object's ETag (changes when the object is replaced), or '' when the store gives none. */
  etag: string;
}

/**
 * The objects directly under s3://bucket/prefix/ with their sizes and ETags, from the listing alone
 * (no request per object), sorted by name.
 * @throws {InputError} naming the URL when nothing lies under the prefix, or on a request failure
 */
export async function listS3Objects(url: string, options: S3Options = {}): Promise<S3Object[]> {
  const { objects } = await listS3Prefix(url, options);
  return objects.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}

/** Every page of a ListObjectsV2 of the prefix: its objects and sub-prefixes. */
async function listS3Prefix(url: string, options: S3Options): Promise<{ objects: S3Object[]; prefixes: string[] }> {
  const client = clientFor(options);
  const settings = remoteSettings(options);
  const { bucket, key } = parseS3Url(url);
  const prefix = key === '' || key.endsWith('/') ? key : `${key}/`;
  const objects = new Map<string, S3Object>();
  const prefixes = new Set<string>();
  let token: string | undefined;
  for (let page = 0; ; page++) {
    const query = new URLSearchParams({ 'list-type': '2', delimiter: '/', prefix });
    if (token) query.set('continuation-token', token);
    // Sorted query string: SigV4 signs the canonical (sorted) form, and some stores compare literally.
    query.sort();
    const target = client.objectUrl(bucket, '', query.toString().replace(/\+/g, '%20'));
    const xml = await withRetries(url, settings, async () => {
      const { response, body } = await fetchIdle(settings, await client.request(target, { method: 'GET' }));
      if (!response.ok) {
        await discard(response);
        throw failure({ name: url, denied: () => client.denied() }, response, ' listing the prefix');
      }
      return new TextDecoder().decode(await body());
    });
    for (const entry of xmlValues(xml, 'Contents')) {
      const name = xmlValues(entry, 'Key')[0]?.slice(prefix.length);
      if (name)
        objects.set(name, {
          name,
          size: Number(xmlValues(entry, 'Size')[0] ?? NaN),
          etag: xmlValues(entry, 'ETag')[0] ?? '',
        });
    }
    for (const entry of xmlValues(xml, 'CommonPrefixes')) {
      const name = xmlValues(entry, 'Prefix')[0]?.slice(prefix.length).replace(/\/$/, '');
      if (name) prefixes.add(name);
    }
    const truncated = xmlValues(xml, 'IsTruncated')[0] === 'true';
    token = xmlValues(xml, 'NextContinuationToken')[0];
    if (!truncated || !token) break;
    if (page > 1_000_000) throw new InputError(url, 'listing does not end');
  }
  if (objects.size === 0 && prefixes.size === 0)
    throw new InputError(url, 'no such directory (nothing under this prefix)');
  return { objects: [...objects.values()], prefixes: [...prefixes] };
}

/**
 * What s3://bucket/key names: an object (by HEAD; not for a URL ending in '/'), else a prefix with
 * something under it, else nothing. A failure other than a 404 or an empty prefix (a 403, a store that
 * does not answer) is thrown, so it is reported as itself and not as a missing file.
 */
export async function s3Kind(url: string, options: S3Options = {}): Promise<'file' | 'directory' | 'missing'> {
  if (!url.endsWith('/') && (await s3Exists(url, options))) return 'file';
  try {
    await listS3Prefix(url, options);
    return 'directory';
  } catch (err) {
    if (err instanceof InputError && /no such directory/.test(err.problem)) return 'missing';
    throw err;
  }
}

/** Whether s3://bucket/key exists (HEAD). */
export async function s3Exists(url: string, options: S3Options = {}): Promise<boolean> {
  const client = clientFor(options);
  const settings = remoteSettings(options);
  const { bucket, key } = parseS3Url(url);
  const target = client.objectUrl(bucket, key);
  return withRetries(url, settings, async () => {
    const { response } = await fetchIdle(settings, await client.request(target, { method: 'HEAD' }));
    await discard(response);
    if (response.status === 404) return false;
    if (!response.ok) {
      throw failure({ name: url, denied: () => client.denied() }, response, '');
    }
    return true;
  });
}

/**
 * Write `bytes` as s3://bucket/key in one PUT: S3 makes an object visible only whole, so no partial
 * object ever appears under the name. Without `force` an existing object is refused (checked by HEAD, and
 * by If-None-Match on stores that honour it).
 * @throws {OutputError} naming the URL when it exists without force, or the PUT fails
 */
export async function putS3Object(
  url: string,
  bytes: Uint8Array,
  options: S3Options & { force?: boolean } = {},
): Promise<void> {
  const client = clientFor(options);
  const settings = remoteSettings(options);
  const { bucket, key } = parseS3Url(url);
  if (key === '' || key.endsWith('/')) throw new OutputError(url, 'names no object (a prefix, not a file)');
  if (!options.force && (await s3Exists(url, options)))
    throw new OutputError(url, 'already exists; refusing to overwrite it without --force');
  const target = client.objectUrl(bucket, key);
  try {
    await withRetries(url, settings, async () => {
      const headers: Record<string, string> = { 'content-type': 'application/octet-stream' };
      if (!options.force) headers['if-none-match'] = '*';
      const { response } = await fetchIdle(
        settings,
        await client.request(target, { method: 'PUT', headers, body: bytes as BodyInit }),
      );
      await discard(response);
      if (response.status === 412)
        throw new OutputError(url, 'already exists; refusing to overwrite it without --force');
      if (!response.ok) {
        throw failure({ name: url, denied: () => client.denied() }, response, ' writing the object');
      }
    });
  } catch (err) {
    if (err instanceof InputError) throw new OutputError(url, err.problem);
    throw err;
  }
}
