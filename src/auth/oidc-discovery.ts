/** The fields of an OpenID Provider's discovery document that myphone uses (OpenID Connect Discovery 1.0). */
export interface DiscoveryDocument {
  readonly issuer: string;
  readonly jwks_uri?: string;
  readonly introspection_endpoint?: string;
}

/** Time allowed for one request to the identity provider. */
export const IDENTITY_PROVIDER_TIMEOUT_MS = 5_000;
/** Larger answers from the identity provider are refused instead of being read into memory. */
export const MAX_IDENTITY_PROVIDER_ANSWER_BYTES = 1024 * 1024;

/** Thrown when the identity provider cannot be reached or answers something unusable; never about a token. */
export class IdentityProviderError extends Error {
  override name = "IdentityProviderError";
}

/**
 * Reads `<issuer>/.well-known/openid-configuration` once and keeps it; a failed read is retried by the next
 * caller, so a provider that was down at start-up does not need a restart.
 */
export class OidcDiscovery {
  private document?: Promise<DiscoveryDocument>;

  constructor(private readonly issuer: string) {}

  /** The discovery document URL for the issuer (RFC 8414 section 5: appended to the issuer, trailing slash dropped). */
  get url(): string {
    return `${this.issuer.replace(/\/+$/, "")}/.well-known/openid-configuration`;
  }

  /** The discovery document; its `issuer` must be exactly the configured one (OIDC Discovery section 4.3). */
  read(): Promise<DiscoveryDocument> {
    this.document ??= this.fetchDocument().catch((error: unknown) => {
      this.document = undefined;
      throw error;
    });
    return this.document;
  }

  /** The URL the discovery document gives for `field`, or an IdentityProviderError naming what is missing. */
  async endpoint(field: "jwks_uri" | "introspection_endpoint"): Promise<string> {
    const value = (await this.read())[field];
    if (typeof value !== "string" || !/^https?:\/\//.test(value)) {
      throw new IdentityProviderError(`discovery document ${this.url} has no usable ${field}`);
    }
    return value;
  }

  private async fetchDocument(): Promise<DiscoveryDocument> {
    const json = await fetchJson(this.url, { headers: { accept: "application/json" } });
    const issuer = (json as Partial<DiscoveryDocument> | null)?.issuer;
    if (issuer !== this.issuer) {
      throw new IdentityProviderError(
        `discovery document ${this.url} names issuer ${JSON.stringify(issuer)}, expected ${JSON.stringify(this.issuer)}`,
      );
    }
    return json as DiscoveryDocument;
  }
}

/** One bounded request to the identity provider; anything but a 200 with JSON is an IdentityProviderError. */
export async function fetchJson(url: string, init: RequestInit): Promise<unknown> {
  let response: Response;
  try {
    response = await fetch(url, {
      ...init,
      redirect: "error",
      signal: AbortSignal.timeout(IDENTITY_PROVIDER_TIMEOUT_MS),
    });
  } catch (error) {
    throw new IdentityProviderError(
      `${url}: ${error instanceof Error ? ((error.cause as Error | undefined)?.message ?? error.message) : String(error)}`,
    );
  }
  const length = Number(response.headers.get("content-length") ?? "0");
  if (length > MAX_IDENTITY_PROVIDER_ANSWER_BYTES) {
    await response.body?.cancel();
    throw new IdentityProviderError(`${url}: answer of ${length} bytes is too large`);
  }
  let text: string;
  try {
    text = await response.text();
  } catch (error) {
    throw new IdentityProviderError(`${url}: ${error instanceof Error ? error.message : String(error)}`);
  }
  if (response.status !== 200) throw new IdentityProviderError(`${url}: HTTP ${response.status}`);
  if (text.length > MAX_IDENTITY_PROVIDER_ANSWER_BYTES) throw new IdentityProviderError(`${url}: answer is too large`);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new IdentityProviderError(`${url}: answer is not JSON`);
  }
}
