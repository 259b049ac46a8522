import type { ZitadelLanguage } from "../domain/language-tags.js";

/**
 * Built-in VerifyPhone texts per ZITADEL language; English is ZITADEL's (internal/notification/static/i18n/en.yaml).
 * None names a value the user controls (a display name can come from a token), and each ends with the code, where
 * SMS readers and WebOTP look for it.
 */
export const BUILT_IN_SMS_TEMPLATES: Readonly<Record<ZitadelLanguage, string>> = {
  ar: "تمت إضافة رقم الهاتف هذا للتو. لتأكيده أدخل الرمز التالي: {{.Code}}",
  bg: "Този телефонен номер току-що беше добавен. За да го потвърдите, въведете кода: {{.Code}}",
  cs: "Toto telefonní číslo bylo právě přidáno. Potvrďte ho tímto kódem: {{.Code}}",
  de: "Diese Telefonnummer wurde neu hinterlegt. Zur Bestätigung gib bitte diesen Code ein: {{.Code}}",
  en: "A new phone number has been added. Please use the following code to verify it {{.Code}}",
  es: "Se ha registrado este número de teléfono. Para confirmarlo, introduce este código: {{.Code}}",
  fr: "Ce numéro de téléphone vient d'être enregistré. Pour le confirmer, saisissez ce code : {{.Code}}",
  hu: "Ezt a telefonszámot most adták hozzá. A megerősítéshez használd ezt a kódot: {{.Code}}",
  id: "Nomor telepon ini baru saja ditambahkan. Untuk mengonfirmasinya, masukkan kode berikut: {{.Code}}",
  it: "Questo numero di telefono è stato appena registrato. Per confermarlo inserisci questo codice: {{.Code}}",
  ja: "この電話番号が新しく追加されました。確認のため次のコードを入力してください: {{.Code}}",
  ko: "이 전화번호가 새로 추가되었습니다. 확인하려면 다음 코드를 입력하세요: {{.Code}}",
  mk: "Овој телефонски број штотуку е додаден. За да го потврдите, внесете го кодот: {{.Code}}",
  nl: "Dit telefoonnummer is zojuist toegevoegd. Bevestig het met deze code: {{.Code}}",
  pl: "Dodano ten numer telefonu. Aby go potwierdzić, wpisz ten kod: {{.Code}}",
  pt: "Este número de telefone foi adicionado. Para confirmá-lo, use este código: {{.Code}}",
  ro: "Acest număr de telefon tocmai a fost adăugat. Pentru confirmare, folosește acest cod: {{.Code}}",
  ru: "Этот номер телефона только что добавлен. Чтобы подтвердить его, введите код: {{.Code}}",
  sv: "Det här telefonnumret har lagts till. Bekräfta det med den här koden: {{.Code}}",
  tr: "Bu telefon numarası az önce eklendi. Onaylamak için şu kodu girin: {{.Code}}",
  uk: "Цей номер телефону щойно додано. Щоб підтвердити його, введіть код: {{.Code}}",
  zh: "此电话号码刚刚被添加。请输入以下验证码完成确认: {{.Code}}",
};

/**
 * ZITADEL's VerifyPhone title (also its pre-header, subject and button text: "Verify phone"), per language, in our
 * words; the webhook body carries them in `templateData` as ZITADEL does.
 */
export const VERIFY_PHONE_TITLES: Readonly<Record<ZitadelLanguage, string>> = {
  ar: "تأكيد رقم الهاتف",
  bg: "Потвърждаване на телефонен номер",
  cs: "Potvrzení telefonního čísla",
  de: "Telefonnummer bestätigen",
  en: "Verify phone",
  es: "Confirmar el número de teléfono",
  fr: "Confirmer le numéro de téléphone",
  hu: "Telefonszám megerősítése",
  id: "Konfirmasi nomor telepon",
  it: "Conferma il numero di telefono",
  ja: "電話番号の確認",
  ko: "전화번호 확인",
  mk: "Потврда на телефонски број",
  nl: "Telefoonnummer bevestigen",
  pl: "Potwierdź numer telefonu",
  pt: "Confirmar o número de telefone",
  ro: "Confirmarea numărului de telefon",
  ru: "Подтверждение номера телефона",
  sv: "Bekräfta telefonnummer",
  tr: "Telefon numarasını onaylayın",
  uk: "Підтвердження номера телефону",
  zh: "确认电话号码",
};

/** The VerifyPhone title in `language`, English for a language only an operator's template has. */
export function verifyPhoneTitle(language: string): string {
  return VERIFY_PHONE_TITLES[language.split("-")[0] as ZitadelLanguage] ?? VERIFY_PHONE_TITLES.en;
}
