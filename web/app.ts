import { createClient } from "@connectrpc/connect";
import { createGrpcWebTransport } from "@connectrpc/connect-web";
import { AuthService } from "../gen/zitadel/auth_pb.js";
import { describeError } from "./error-messages.js";

/**
 * The self-service page: paste a token, see the current phone, set a number, enter the code, ask for a new code,
 * remove the number. It calls the API like any browser client would: gRPC-Web over fetch, same origin.
 */

const client = createClient(AuthService, createGrpcWebTransport({ baseUrl: window.location.origin }));

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`page element #${id} is missing`);
  return found as T;
}

const tokenInput = element<HTMLTextAreaElement>("token");
const phoneInput = element<HTMLInputElement>("phone");
const codeInput = element<HTMLInputElement>("code");
const errorBox = element<HTMLParagraphElement>("error");
const messageBox = element<HTMLParagraphElement>("message");
const account = element<HTMLElement>("account");
const current = element<HTMLParagraphElement>("current");
const removeButton = element<HTMLButtonElement>("remove");
const verifyForm = element<HTMLFormElement>("verify-form");

/** The request headers of every call: the pasted token (a pasted "Bearer " prefix is tolerated). */
function authHeaders(): Record<string, string> {
  const token = tokenInput.value.trim().replace(/^Bearer\s+/i, "");
  return { authorization: `Bearer ${token}` };
}

function show(box: HTMLElement, text: string | undefined): void {
  box.textContent = text ?? "";
  box.hidden = text === undefined;
}

/** Runs one user action: disables the buttons meanwhile, shows its outcome in words, refreshes the phone. */
async function act(action: () => Promise<string | undefined>): Promise<void> {
  show(errorBox, undefined);
  show(messageBox, undefined);
  if (tokenInput.value.trim() === "") {
    show(errorBox, "Paste your access token first.");
    return;
  }
  const buttons = Array.from(document.querySelectorAll("button"));
  buttons.forEach((button) => (button.disabled = true));
  try {
    show(messageBox, await action());
    await refresh();
  } catch (error) {
    show(errorBox, describeError(error));
  } finally {
    buttons.forEach((button) => (button.disabled = false));
  }
}

/** Shows the current number and offers what makes sense for it. */
async function refresh(): Promise<void> {
  const { phone } = await client.getMyPhone({}, { headers: authHeaders() });
  account.hidden = false;
  current.replaceChildren();
  if (!phone?.phone) {
    current.textContent = "You have no phone number yet.";
    removeButton.hidden = true;
    verifyForm.hidden = true;
    return;
  }
  const state = document.createElement("span");
  state.className = phone.isPhoneVerified ? "verified" : "unverified";
  state.textContent = phone.isPhoneVerified ? "verified" : "not verified yet";
  current.append(`${phone.phone}: `, state);
  removeButton.hidden = false;
  verifyForm.hidden = phone.isPhoneVerified;
}

element<HTMLFormElement>("token-form").addEventListener("submit", (event) => {
  event.preventDefault();
  void act(async () => undefined);
});

element<HTMLFormElement>("set-form").addEventListener("submit", (event) => {
  event.preventDefault();
  void act(async () => {
    await client.setMyPhone({ phone: phoneInput.value }, { headers: authHeaders() });
    phoneInput.value = "";
    codeInput.value = "";
    return "We sent a code by SMS to your new number. Type it below.";
  });
});

verifyForm.addEventListener("submit", (event) => {
  event.preventDefault();
  void act(async () => {
    await client.verifyMyPhone({ code: codeInput.value.trim() }, { headers: authHeaders() });
    codeInput.value = "";
    return "Your phone number is verified.";
  });
});

element<HTMLButtonElement>("resend").addEventListener("click", () => {
  void act(async () => {
    await client.resendMyPhoneVerification({}, { headers: authHeaders() });
    codeInput.value = "";
    return "We sent a new code. Only the newest code works.";
  });
});

removeButton.addEventListener("click", () => {
  void act(async () => {
    await client.removeMyPhone({}, { headers: authHeaders() });
    return "Your phone number was removed.";
  });
});
