import { USER_AGGREGATE, UserEventType } from "../../src/domain/user-events.js";
import type { EventStore } from "../../src/eventstore/event-store.js";
import { ALL_CLIENTS, type ApiResult } from "../support/clients.js";

/**
 * Real writes made while hostile traffic hits the same server, remembered with the sequence the server
 * acknowledged, so a test can check afterwards that every acknowledged write is still there.
 */
export class AcknowledgedWrites {
  private readonly acknowledged: { sequence: number; phone: string }[] = [];
  private counter = 0;

  constructor(
    private readonly baseUrl: string,
    private readonly user: { userId: string; token: string },
    private readonly phonePrefix = "+4179444",
  ) {}

  /** Sets a new number through grpc-js (a normal call; it must succeed) and records the acknowledged sequence. */
  async write(): Promise<ApiResult> {
    const phone = `${this.phonePrefix}${String(++this.counter).padStart(4, "0")}`;
    const result = await ALL_CLIENTS[0]!.create(this.baseUrl, this.user.token).set(phone);
    this.acknowledged.push({ sequence: Number(result.details?.sequence), phone });
    return result;
  }

  get count(): number {
    return this.acknowledged.length;
  }

  /** The last number written, as GetMyPhone must show it. */
  get lastPhone(): string | undefined {
    return this.acknowledged.at(-1)?.phone;
  }

  /** Every acknowledged SetMyPhone is in the user's stream: phone.changed with its number, then code.added at the acknowledged sequence. */
  async expectAllStored(store: EventStore): Promise<void> {
    const stream = await store.readStream(USER_AGGREGATE, this.user.userId);
    for (const { sequence, phone } of this.acknowledged) {
      expect(stream[sequence - 1]?.type).toBe(UserEventType.phoneCodeAdded);
      expect(stream[sequence - 2]).toMatchObject({ type: UserEventType.phoneChanged, data: { phone } });
    }
  }
}
