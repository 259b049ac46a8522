/** The lookup the directory asks (the event store answers it): does any event have this owner? */
export interface OrganisationLookup {
  ownerExists(orgId: string): Promise<boolean>;
}

/** Organisations remembered as existing; beyond this the oldest are forgotten (and asked about again). */
const MAX_REMEMBERED_ORGANISATIONS = 10_000;
/** No org id is longer; longer header values are unknown without asking the store. */
const MAX_ORG_ID_LENGTH = 200;

/**
 * Whether an `x-zitadel-orgid` names an organisation (any event has that owner). Known ones are remembered, as none
 * is ever deleted; unknown ones are asked again, so one created later is found.
 */
export class OrganisationDirectory {
  private readonly known = new Set<string>();

  constructor(private readonly store: OrganisationLookup) {}

  /** True when some event belongs to `orgId`. */
  async exists(orgId: string): Promise<boolean> {
    if (this.known.has(orgId)) return true;
    if (orgId.length > MAX_ORG_ID_LENGTH) return false;
    if (!(await this.store.ownerExists(orgId))) return false;
    this.known.add(orgId);
    if (this.known.size > MAX_REMEMBERED_ORGANISATIONS) this.known.delete(this.known.values().next().value!);
    return true;
  }
}
