import type { ErrorDefinition, ErrorMessageKey } from "./errors.js";
import { ZITADEL_LANGUAGES, type ZitadelLanguage } from "./language-tags.js";

/**
 * Every error message in every language ZITADEL ships (zitadel_spec.md section 7), keyed by the English text of
 * errors.ts as ZITADEL keys its i18n files; the wording is ours. Like the English texts, none uses
 * `: , / ? # & = + ; $ @`, which @grpc/grpc-js's decodeURI would leave percent-encoded (non-ASCII is fine).
 */
const TRANSLATIONS: Readonly<Record<Exclude<ZitadelLanguage, "en">, Readonly<Record<ErrorMessageKey, string>>>> = {
  ar: {
    "Phone must be 1 to 50 characters": "يجب أن يتكون رقم الهاتف من 1 إلى 50 حرفًا",
    "Code must be 1 to 200 characters": "يجب أن يتكون الرمز من 1 إلى 200 حرف",
    "Phone is invalid": "رقم الهاتف غير صالح",
    "Phone is invalid (not a possible number for its country)": "رقم الهاتف غير صالح (غير ممكن في بلده)",
    "Phone is invalid (not an assigned number for its country)": "رقم الهاتف غير صالح (غير مخصص في بلده)",
    "Phone is invalid (not a mobile number)": "رقم الهاتف غير صالح (ليس رقم هاتف محمول)",
    "User could not be found": "تعذر العثور على المستخدم",
    "Phone not changed": "لم يتغير رقم الهاتف",
    "Code not found": "لم يتم العثور على رمز",
    "Code is invalid": "الرمز غير صالح",
    "Code is blocked after too many failed attempts (request a new code)":
      "تم حظر الرمز بعد محاولات فاشلة كثيرة جدًا (اطلب رمزًا جديدًا)",
    "Phone is invalid (codes are not sent to this country)": "رقم الهاتف غير صالح (لا تُرسل الرموز إلى هذا البلد)",
    "A code was sent moments ago (wait before requesting another)": "تم إرسال رمز قبل لحظات (انتظر قبل طلب رمز آخر)",
    "Too many codes sent for this user (try again later)":
      "تم إرسال رموز كثيرة جدًا لهذا المستخدم (حاول مرة أخرى لاحقًا)",
    "Too many codes sent to this number (try again later)":
      "تم إرسال رموز كثيرة جدًا إلى هذا الرقم (حاول مرة أخرى لاحقًا)",
    "Too many codes requested from this address (try again later)":
      "تم طلب رموز كثيرة جدًا من هذا العنوان (حاول مرة أخرى لاحقًا)",
    "Phone not found": "لم يتم العثور على رقم هاتف",
    "Phone already verified": "تم تأكيد رقم الهاتف مسبقًا",
    "The User must be personal": "يجب أن يكون المستخدم شخصًا",
    "auth header missing": "ترويسة التفويض مفقودة",
    "invalid auth header": "ترويسة التفويض غير صالحة",
    "Token is invalid": "الرمز المميز غير صالح",
    "Organisation doesn't exist": "المؤسسة غير موجودة",
    "Token cannot be verified now (identity provider unreachable)":
      "لا يمكن التحقق من الرمز المميز الآن (يتعذر الوصول إلى موفر الهوية)",
    "User already exists": "المستخدم موجود بالفعل",
    "An internal error occurred": "حدث خطأ داخلي",
    "Service is shutting down": "الخدمة قيد الإيقاف",
    "Code cannot be checked now (verification service unreachable)":
      "لا يمكن التحقق من الرمز الآن (يتعذر الوصول إلى خدمة التحقق)",
    "Too many codes sent to this number for this user (try again later)":
      "تم إرسال رموز كثيرة جدًا إلى هذا الرقم لهذا المستخدم (حاول مرة أخرى لاحقًا)",
    "Too many codes sent to this number from this address (try again later)":
      "تم طلب رموز كثيرة جدًا إلى هذا الرقم من هذا العنوان (حاول مرة أخرى لاحقًا)",
    "The code cannot be checked by this server right now (try again)":
      "لا يستطيع هذا الخادم التحقق من الرمز الآن (حاول مرة أخرى)",
    "The database cannot be reached (try again shortly)": "يتعذر الوصول إلى قاعدة البيانات (حاول مرة أخرى بعد قليل)",
    "User ID must be 1 to 200 characters": "يجب أن يتكون معرّف المستخدم من 1 إلى 200 حرف",
    "Phone must be 1 to 200 characters": "يجب أن يتكون رقم الهاتف من 1 إلى 200 حرف",
    "Code must be 1 to 20 characters": "يجب أن يتكون الرمز من 1 إلى 20 حرفًا",
    "is_verified must be true when set": "يجب أن تكون قيمة is_verified هي true عند تعيينها",
    "Code is empty": "الرمز فارغ",
    "No matching permissions found": "لم يتم العثور على أذونات مطابقة",
    "membership not found": "لم يتم العثور على العضوية",
    "Phone is invalid (codes are not sent to this kind of number)":
      "رقم الهاتف غير صالح (لا تُرسل الرموز إلى هذا النوع من الأرقام)",
    "Too many codes sent by this service (try again later)": "أرسلت هذه الخدمة رموزًا كثيرة جدًا (حاول مرة أخرى لاحقًا)",
    "Too many codes sent to this country (try again later)":
      "تم إرسال رموز كثيرة جدًا إلى هذا البلد (حاول مرة أخرى لاحقًا)",
    "Too many codes sent to this number range (try again later)":
      "تم إرسال رموز كثيرة جدًا إلى نطاق الأرقام هذا (حاول مرة أخرى لاحقًا)",
    "Codes to this destination are paused because too few of them were verified (try again later)":
      "تم إيقاف إرسال الرموز إلى هذه الوجهة مؤقتًا لقلة الرموز المؤكدة (حاول مرة أخرى لاحقًا)",
  },
  bg: {
    "Phone must be 1 to 50 characters": "Телефонният номер трябва да е от 1 до 50 знака",
    "Code must be 1 to 200 characters": "Кодът трябва да е от 1 до 200 знака",
    "Phone is invalid": "Невалиден телефонен номер",
    "Phone is invalid (not a possible number for its country)":
      "Невалиден телефонен номер (невъзможен за своята държава)",
    "Phone is invalid (not an assigned number for its country)":
      "Невалиден телефонен номер (не е разпределен в своята държава)",
    "Phone is invalid (not a mobile number)": "Невалиден телефонен номер (не е мобилен номер)",
    "User could not be found": "Потребителят не е намерен",
    "Phone not changed": "Телефонният номер не е променен",
    "Code not found": "Не е намерен код",
    "Code is invalid": "Невалиден код",
    "Code is blocked after too many failed attempts (request a new code)":
      "Кодът е блокиран след твърде много неуспешни опити (поискайте нов)",
    "Phone is invalid (codes are not sent to this country)":
      "Невалиден телефонен номер (към тази държава не се изпращат кодове)",
    "A code was sent moments ago (wait before requesting another)":
      "Току-що беше изпратен код (изчакайте преди да поискате нов)",
    "Too many codes sent for this user (try again later)": "Твърде много кодове за този потребител (опитайте по-късно)",
    "Too many codes sent to this number (try again later)": "Твърде много кодове към този номер (опитайте по-късно)",
    "Too many codes requested from this address (try again later)":
      "Твърде много заявки за код от този адрес (опитайте по-късно)",
    "Phone not found": "Не е намерен телефонен номер",
    "Phone already verified": "Телефонният номер вече е потвърден",
    "The User must be personal": "Потребителят трябва да е човек",
    "auth header missing": "Липсва заглавка за оторизация",
    "invalid auth header": "Невалидна заглавка за оторизация",
    "Token is invalid": "Невалиден токен",
    "Organisation doesn't exist": "Организацията не съществува",
    "Token cannot be verified now (identity provider unreachable)":
      "Токенът не може да бъде проверен сега (доставчикът на самоличност е недостъпен)",
    "User already exists": "Потребителят вече съществува",
    "An internal error occurred": "Възникна вътрешна грешка",
    "Service is shutting down": "Услугата се спира",
    "Code cannot be checked now (verification service unreachable)":
      "Кодът не може да бъде проверен сега (услугата за проверка е недостъпна)",
    "Too many codes sent to this number for this user (try again later)":
      "Твърде много кодове към този номер за този потребител (опитайте по-късно)",
    "Too many codes sent to this number from this address (try again later)":
      "Твърде много кодове към този номер от този адрес (опитайте по-късно)",
    "The code cannot be checked by this server right now (try again)":
      "Този сървър не може да провери кода в момента (опитайте отново)",
    "The database cannot be reached (try again shortly)": "Базата данни е недостъпна (опитайте отново след малко)",
    "User ID must be 1 to 200 characters": "ID на потребителя трябва да е от 1 до 200 знака",
    "Phone must be 1 to 200 characters": "Телефонният номер трябва да е от 1 до 200 знака",
    "Code must be 1 to 20 characters": "Кодът трябва да е от 1 до 20 знака",
    "is_verified must be true when set": "is_verified трябва да е true ако е зададено",
    "Code is empty": "Кодът е празен",
    "No matching permissions found": "Не са намерени съответстващи права",
    "membership not found": "Членството не е намерено",
    "Phone is invalid (codes are not sent to this kind of number)":
      "Невалиден телефонен номер (към този вид номера не се изпращат кодове)",
    "Too many codes sent by this service (try again later)":
      "Тази услуга изпрати твърде много кодове (опитайте по-късно)",
    "Too many codes sent to this country (try again later)": "Твърде много кодове към тази държава (опитайте по-късно)",
    "Too many codes sent to this number range (try again later)":
      "Твърде много кодове към този диапазон от номера (опитайте по-късно)",
    "Codes to this destination are paused because too few of them were verified (try again later)":
      "Кодовете към тази дестинация са спрени поради твърде малко потвърждения (опитайте по-късно)",
  },
  cs: {
    "Phone must be 1 to 50 characters": "Telefonní číslo musí mít 1 až 50 znaků",
    "Code must be 1 to 200 characters": "Kód musí mít 1 až 200 znaků",
    "Phone is invalid": "Telefonní číslo je neplatné",
    "Phone is invalid (not a possible number for its country)": "Telefonní číslo je neplatné (v dané zemi není možné)",
    "Phone is invalid (not an assigned number for its country)":
      "Telefonní číslo je neplatné (v dané zemi není přidělené)",
    "Phone is invalid (not a mobile number)": "Telefonní číslo je neplatné (není to mobilní číslo)",
    "User could not be found": "Uživatel nebyl nalezen",
    "Phone not changed": "Telefonní číslo se nezměnilo",
    "Code not found": "Kód nebyl nalezen",
    "Code is invalid": "Kód je neplatný",
    "Code is blocked after too many failed attempts (request a new code)":
      "Kód je po příliš mnoha neúspěšných pokusech zablokován (vyžádejte si nový)",
    "Phone is invalid (codes are not sent to this country)":
      "Telefonní číslo je neplatné (do této země se kódy neposílají)",
    "A code was sent moments ago (wait before requesting another)":
      "Kód byl právě odeslán (před dalším požadavkem chvíli počkejte)",
    "Too many codes sent for this user (try again later)":
      "Pro tohoto uživatele bylo odesláno příliš mnoho kódů (zkuste to později)",
    "Too many codes sent to this number (try again later)":
      "Na toto číslo bylo odesláno příliš mnoho kódů (zkuste to později)",
    "Too many codes requested from this address (try again later)":
      "Z této adresy bylo vyžádáno příliš mnoho kódů (zkuste to později)",
    "Phone not found": "Telefonní číslo nebylo nalezeno",
    "Phone already verified": "Telefonní číslo je již ověřeno",
    "The User must be personal": "Uživatel musí být osoba",
    "auth header missing": "Chybí autorizační hlavička",
    "invalid auth header": "Neplatná autorizační hlavička",
    "Token is invalid": "Token je neplatný",
    "Organisation doesn't exist": "Organizace neexistuje",
    "Token cannot be verified now (identity provider unreachable)":
      "Token teď nelze ověřit (poskytovatel identity je nedostupný)",
    "User already exists": "Uživatel již existuje",
    "An internal error occurred": "Došlo k interní chybě",
    "Service is shutting down": "Služba se vypíná",
    "Code cannot be checked now (verification service unreachable)":
      "Kód teď nelze ověřit (ověřovací služba je nedostupná)",
    "Too many codes sent to this number for this user (try again later)":
      "Na toto číslo bylo pro tohoto uživatele odesláno příliš mnoho kódů (zkuste to později)",
    "Too many codes sent to this number from this address (try again later)":
      "Na toto číslo bylo z této adresy vyžádáno příliš mnoho kódů (zkuste to později)",
    "The code cannot be checked by this server right now (try again)":
      "Tento server teď nemůže kód ověřit (zkuste to znovu)",
    "The database cannot be reached (try again shortly)": "Databáze je nedostupná (zkuste to za chvíli znovu)",
    "User ID must be 1 to 200 characters": "ID uživatele musí mít 1 až 200 znaků",
    "Phone must be 1 to 200 characters": "Telefonní číslo musí mít 1 až 200 znaků",
    "Code must be 1 to 20 characters": "Kód musí mít 1 až 20 znaků",
    "is_verified must be true when set": "is_verified musí být true pokud je uvedeno",
    "Code is empty": "Kód je prázdný",
    "No matching permissions found": "Nebyla nalezena žádná odpovídající oprávnění",
    "membership not found": "Členství nebylo nalezeno",
    "Phone is invalid (codes are not sent to this kind of number)":
      "Telefonní číslo je neplatné (na tento druh čísla se kódy neposílají)",
    "Too many codes sent by this service (try again later)":
      "Tato služba odeslala příliš mnoho kódů (zkuste to později)",
    "Too many codes sent to this country (try again later)":
      "Do této země bylo odesláno příliš mnoho kódů (zkuste to později)",
    "Too many codes sent to this number range (try again later)":
      "Do tohoto rozsahu čísel bylo odesláno příliš mnoho kódů (zkuste to později)",
    "Codes to this destination are paused because too few of them were verified (try again later)":
      "Kódy do tohoto cíle jsou pozastaveny kvůli příliš malému počtu ověření (zkuste to později)",
  },
  de: {
    "Phone must be 1 to 50 characters": "Die Telefonnummer muss 1 bis 50 Zeichen lang sein",
    "Code must be 1 to 200 characters": "Der Code muss 1 bis 200 Zeichen lang sein",
    "Phone is invalid": "Die Telefonnummer ist ungültig",
    "Phone is invalid (not a possible number for its country)":
      "Die Telefonnummer ist ungültig (für ihr Land nicht möglich)",
    "Phone is invalid (not an assigned number for its country)":
      "Die Telefonnummer ist ungültig (in ihrem Land nicht vergeben)",
    "Phone is invalid (not a mobile number)": "Die Telefonnummer ist ungültig (keine Mobilnummer)",
    "User could not be found": "Benutzer nicht gefunden",
    "Phone not changed": "Die Telefonnummer ist unverändert",
    "Code not found": "Kein Code vorhanden",
    "Code is invalid": "Der Code ist ungültig",
    "Code is blocked after too many failed attempts (request a new code)":
      "Der Code ist nach zu vielen Fehlversuchen gesperrt (bitte einen neuen anfordern)",
    "Phone is invalid (codes are not sent to this country)":
      "Die Telefonnummer ist ungültig (in dieses Land werden keine Codes gesendet)",
    "A code was sent moments ago (wait before requesting another)":
      "Gerade eben wurde ein Code gesendet (bitte vor einer neuen Anfrage kurz warten)",
    "Too many codes sent for this user (try again later)":
      "Zu viele Codes für diesen Benutzer (bitte später erneut versuchen)",
    "Too many codes sent to this number (try again later)":
      "Zu viele Codes an diese Nummer (bitte später erneut versuchen)",
    "Too many codes requested from this address (try again later)":
      "Zu viele Code-Anfragen von dieser Adresse (bitte später erneut versuchen)",
    "Phone not found": "Keine Telefonnummer vorhanden",
    "Phone already verified": "Die Telefonnummer ist bereits bestätigt",
    "The User must be personal": "Der Benutzer muss eine Person sein",
    "auth header missing": "Authorization-Header fehlt",
    "invalid auth header": "Ungültiger Authorization-Header",
    "Token is invalid": "Das Token ist ungültig",
    "Organisation doesn't exist": "Die Organisation existiert nicht",
    "Token cannot be verified now (identity provider unreachable)":
      "Das Token kann gerade nicht geprüft werden (Identitätsanbieter nicht erreichbar)",
    "User already exists": "Der Benutzer existiert bereits",
    "An internal error occurred": "Ein interner Fehler ist aufgetreten",
    "Service is shutting down": "Der Dienst wird gerade beendet",
    "Code cannot be checked now (verification service unreachable)":
      "Der Code kann gerade nicht geprüft werden (Verifizierungsdienst nicht erreichbar)",
    "Too many codes sent to this number for this user (try again later)":
      "Zu viele Codes an diese Nummer für diesen Benutzer (bitte später erneut versuchen)",
    "Too many codes sent to this number from this address (try again later)":
      "Zu viele Codes an diese Nummer von dieser Adresse (bitte später erneut versuchen)",
    "The code cannot be checked by this server right now (try again)":
      "Dieser Server kann den Code gerade nicht prüfen (bitte erneut versuchen)",
    "The database cannot be reached (try again shortly)":
      "Die Datenbank ist nicht erreichbar (bitte gleich erneut versuchen)",
    "User ID must be 1 to 200 characters": "Die Benutzer-ID muss 1 bis 200 Zeichen lang sein",
    "Phone must be 1 to 200 characters": "Die Telefonnummer muss 1 bis 200 Zeichen lang sein",
    "Code must be 1 to 20 characters": "Der Code muss 1 bis 20 Zeichen lang sein",
    "is_verified must be true when set": "is_verified muss true sein wenn es gesetzt ist",
    "Code is empty": "Der Code ist leer",
    "No matching permissions found": "Keine passenden Berechtigungen gefunden",
    "membership not found": "Mitgliedschaft nicht gefunden",
    "Phone is invalid (codes are not sent to this kind of number)":
      "Die Telefonnummer ist ungültig (an diese Art von Nummer werden keine Codes gesendet)",
    "Too many codes sent by this service (try again later)":
      "Zu viele Codes von diesem Dienst (bitte später erneut versuchen)",
    "Too many codes sent to this country (try again later)":
      "Zu viele Codes in dieses Land (bitte später erneut versuchen)",
    "Too many codes sent to this number range (try again later)":
      "Zu viele Codes an diesen Nummernbereich (bitte später erneut versuchen)",
    "Codes to this destination are paused because too few of them were verified (try again later)":
      "Codes an dieses Ziel sind wegen zu weniger Bestätigungen pausiert (bitte später erneut versuchen)",
  },
  es: {
    "Phone must be 1 to 50 characters": "El número de teléfono debe tener entre 1 y 50 caracteres",
    "Code must be 1 to 200 characters": "El código debe tener entre 1 y 200 caracteres",
    "Phone is invalid": "El número de teléfono no es válido",
    "Phone is invalid (not a possible number for its country)":
      "El número de teléfono no es válido (no es posible en su país)",
    "Phone is invalid (not an assigned number for its country)":
      "El número de teléfono no es válido (no está asignado en su país)",
    "Phone is invalid (not a mobile number)": "El número de teléfono no es válido (no es un número móvil)",
    "User could not be found": "No se encontró el usuario",
    "Phone not changed": "El número de teléfono no ha cambiado",
    "Code not found": "No se encontró ningún código",
    "Code is invalid": "El código no es válido",
    "Code is blocked after too many failed attempts (request a new code)":
      "El código está bloqueado tras demasiados intentos fallidos (solicita uno nuevo)",
    "Phone is invalid (codes are not sent to this country)":
      "El número de teléfono no es válido (no se envían códigos a este país)",
    "A code was sent moments ago (wait before requesting another)":
      "Se acaba de enviar un código (espera antes de pedir otro)",
    "Too many codes sent for this user (try again later)":
      "Demasiados códigos enviados para este usuario (inténtalo más tarde)",
    "Too many codes sent to this number (try again later)":
      "Demasiados códigos enviados a este número (inténtalo más tarde)",
    "Too many codes requested from this address (try again later)":
      "Demasiados códigos solicitados desde esta dirección (inténtalo más tarde)",
    "Phone not found": "No se encontró ningún número de teléfono",
    "Phone already verified": "El número de teléfono ya está confirmado",
    "The User must be personal": "El usuario debe ser una persona",
    "auth header missing": "Falta la cabecera de autorización",
    "invalid auth header": "Cabecera de autorización no válida",
    "Token is invalid": "El token no es válido",
    "Organisation doesn't exist": "La organización no existe",
    "Token cannot be verified now (identity provider unreachable)":
      "El token no se puede verificar ahora (proveedor de identidad inaccesible)",
    "User already exists": "El usuario ya existe",
    "An internal error occurred": "Se produjo un error interno",
    "Service is shutting down": "El servicio se está deteniendo",
    "Code cannot be checked now (verification service unreachable)":
      "El código no se puede comprobar ahora (servicio de verificación inaccesible)",
    "Too many codes sent to this number for this user (try again later)":
      "Demasiados códigos enviados a este número para este usuario (inténtalo más tarde)",
    "Too many codes sent to this number from this address (try again later)":
      "Demasiados códigos enviados a este número desde esta dirección (inténtalo más tarde)",
    "The code cannot be checked by this server right now (try again)":
      "Este servidor no puede comprobar el código ahora (inténtalo de nuevo)",
    "The database cannot be reached (try again shortly)":
      "No se puede acceder a la base de datos (inténtalo de nuevo en breve)",
    "User ID must be 1 to 200 characters": "El ID de usuario debe tener entre 1 y 200 caracteres",
    "Phone must be 1 to 200 characters": "El número de teléfono debe tener entre 1 y 200 caracteres",
    "Code must be 1 to 20 characters": "El código debe tener entre 1 y 20 caracteres",
    "is_verified must be true when set": "is_verified debe ser true si se indica",
    "Code is empty": "El código está vacío",
    "No matching permissions found": "No se encontraron permisos que coincidan",
    "membership not found": "No se encontró la membresía",
    "Phone is invalid (codes are not sent to this kind of number)":
      "El número de teléfono no es válido (no se envían códigos a este tipo de número)",
    "Too many codes sent by this service (try again later)":
      "Demasiados códigos enviados por este servicio (inténtalo más tarde)",
    "Too many codes sent to this country (try again later)":
      "Demasiados códigos enviados a este país (inténtalo más tarde)",
    "Too many codes sent to this number range (try again later)":
      "Demasiados códigos enviados a este rango de números (inténtalo más tarde)",
    "Codes to this destination are paused because too few of them were verified (try again later)":
      "Los códigos a este destino están en pausa porque se confirmaron muy pocos (inténtalo más tarde)",
  },
  fr: {
    "Phone must be 1 to 50 characters": "Le numéro de téléphone doit comporter de 1 à 50 caractères",
    "Code must be 1 to 200 characters": "Le code doit comporter de 1 à 200 caractères",
    "Phone is invalid": "Le numéro de téléphone n'est pas valide",
    "Phone is invalid (not a possible number for its country)":
      "Le numéro de téléphone n'est pas valide (impossible pour son pays)",
    "Phone is invalid (not an assigned number for its country)":
      "Le numéro de téléphone n'est pas valide (non attribué dans son pays)",
    "Phone is invalid (not a mobile number)": "Le numéro de téléphone n'est pas valide (pas un numéro mobile)",
    "User could not be found": "Utilisateur introuvable",
    "Phone not changed": "Le numéro de téléphone n'a pas changé",
    "Code not found": "Aucun code trouvé",
    "Code is invalid": "Le code n'est pas valide",
    "Code is blocked after too many failed attempts (request a new code)":
      "Le code est bloqué après trop d'essais infructueux (demandez un nouveau code)",
    "Phone is invalid (codes are not sent to this country)":
      "Le numéro de téléphone n'est pas valide (aucun code n'est envoyé vers ce pays)",
    "A code was sent moments ago (wait before requesting another)":
      "Un code vient d'être envoyé (patientez avant d'en demander un autre)",
    "Too many codes sent for this user (try again later)":
      "Trop de codes envoyés pour cet utilisateur (réessayez plus tard)",
    "Too many codes sent to this number (try again later)": "Trop de codes envoyés à ce numéro (réessayez plus tard)",
    "Too many codes requested from this address (try again later)":
      "Trop de codes demandés depuis cette adresse (réessayez plus tard)",
    "Phone not found": "Aucun numéro de téléphone trouvé",
    "Phone already verified": "Le numéro de téléphone est déjà confirmé",
    "The User must be personal": "L'utilisateur doit être une personne",
    "auth header missing": "En-tête d'autorisation manquant",
    "invalid auth header": "En-tête d'autorisation non valide",
    "Token is invalid": "Le jeton n'est pas valide",
    "Organisation doesn't exist": "L'organisation n'existe pas",
    "Token cannot be verified now (identity provider unreachable)":
      "Le jeton ne peut pas être vérifié pour l'instant (fournisseur d'identité injoignable)",
    "User already exists": "L'utilisateur existe déjà",
    "An internal error occurred": "Une erreur interne s'est produite",
    "Service is shutting down": "Le service est en cours d'arrêt",
    "Code cannot be checked now (verification service unreachable)":
      "Le code ne peut pas être vérifié pour l'instant (service de vérification injoignable)",
    "Too many codes sent to this number for this user (try again later)":
      "Trop de codes envoyés à ce numéro pour cet utilisateur (réessayez plus tard)",
    "Too many codes sent to this number from this address (try again later)":
      "Trop de codes envoyés à ce numéro depuis cette adresse (réessayez plus tard)",
    "The code cannot be checked by this server right now (try again)":
      "Ce serveur ne peut pas vérifier le code pour l'instant (réessayez)",
    "The database cannot be reached (try again shortly)":
      "La base de données est injoignable (réessayez dans un instant)",
    "User ID must be 1 to 200 characters": "L'ID utilisateur doit comporter de 1 à 200 caractères",
    "Phone must be 1 to 200 characters": "Le numéro de téléphone doit comporter de 1 à 200 caractères",
    "Code must be 1 to 20 characters": "Le code doit comporter de 1 à 20 caractères",
    "is_verified must be true when set": "is_verified doit valoir true s'il est indiqué",
    "Code is empty": "Le code est vide",
    "No matching permissions found": "Aucune autorisation correspondante trouvée",
    "membership not found": "Appartenance introuvable",
    "Phone is invalid (codes are not sent to this kind of number)":
      "Le numéro de téléphone n'est pas valide (aucun code n'est envoyé à ce type de numéro)",
    "Too many codes sent by this service (try again later)":
      "Trop de codes envoyés par ce service (réessayez plus tard)",
    "Too many codes sent to this country (try again later)": "Trop de codes envoyés vers ce pays (réessayez plus tard)",
    "Too many codes sent to this number range (try again later)":
      "Trop de codes envoyés vers cette plage de numéros (réessayez plus tard)",
    "Codes to this destination are paused because too few of them were verified (try again later)":
      "Les codes vers cette destination sont suspendus car trop peu ont été confirmés (réessayez plus tard)",
  },
  hu: {
    "Phone must be 1 to 50 characters": "A telefonszám hossza 1 és 50 karakter között lehet",
    "Code must be 1 to 200 characters": "A kód hossza 1 és 200 karakter között lehet",
    "Phone is invalid": "A telefonszám érvénytelen",
    "Phone is invalid (not a possible number for its country)":
      "A telefonszám érvénytelen (az adott országban nem lehetséges)",
    "Phone is invalid (not an assigned number for its country)":
      "A telefonszám érvénytelen (az adott országban nincs kiosztva)",
    "Phone is invalid (not a mobile number)": "A telefonszám érvénytelen (nem mobilszám)",
    "User could not be found": "A felhasználó nem található",
    "Phone not changed": "A telefonszám nem változott",
    "Code not found": "Nem található kód",
    "Code is invalid": "A kód érvénytelen",
    "Code is blocked after too many failed attempts (request a new code)":
      "A kód túl sok sikertelen próbálkozás után le lett tiltva (kérjen újat)",
    "Phone is invalid (codes are not sent to this country)":
      "A telefonszám érvénytelen (ebbe az országba nem küldünk kódot)",
    "A code was sent moments ago (wait before requesting another)":
      "Az imént küldtünk egy kódot (várjon egy kicsit az újabb kérés előtt)",
    "Too many codes sent for this user (try again later)":
      "Túl sok kódot küldtünk ennek a felhasználónak (próbálja újra később)",
    "Too many codes sent to this number (try again later)":
      "Túl sok kódot küldtünk erre a számra (próbálja újra később)",
    "Too many codes requested from this address (try again later)":
      "Túl sok kódot kértek erről a címről (próbálja újra később)",
    "Phone not found": "A telefonszám nem található",
    "Phone already verified": "A telefonszám már meg van erősítve",
    "The User must be personal": "A felhasználónak személynek kell lennie",
    "auth header missing": "Hiányzik az engedélyezési fejléc",
    "invalid auth header": "Érvénytelen engedélyezési fejléc",
    "Token is invalid": "A token érvénytelen",
    "Organisation doesn't exist": "A szervezet nem létezik",
    "Token cannot be verified now (identity provider unreachable)":
      "A token most nem ellenőrizhető (az identitásszolgáltató nem érhető el)",
    "User already exists": "A felhasználó már létezik",
    "An internal error occurred": "Belső hiba történt",
    "Service is shutting down": "A szolgáltatás leáll",
    "Code cannot be checked now (verification service unreachable)":
      "A kód most nem ellenőrizhető (az ellenőrző szolgáltatás nem érhető el)",
    "Too many codes sent to this number for this user (try again later)":
      "Túl sok kódot küldtünk erre a számra ennek a felhasználónak (próbálja újra később)",
    "Too many codes sent to this number from this address (try again later)":
      "Túl sok kódot kértek erre a számra erről a címről (próbálja újra később)",
    "The code cannot be checked by this server right now (try again)":
      "Ez a szerver most nem tudja ellenőrizni a kódot (próbálja újra)",
    "The database cannot be reached (try again shortly)": "Az adatbázis nem érhető el (próbálja újra hamarosan)",
    "User ID must be 1 to 200 characters": "A felhasználói azonosító hossza 1 és 200 karakter között lehet",
    "Phone must be 1 to 200 characters": "A telefonszám hossza 1 és 200 karakter között lehet",
    "Code must be 1 to 20 characters": "A kód hossza 1 és 20 karakter között lehet",
    "is_verified must be true when set": "Ha meg van adva az is_verified értéke csak true lehet",
    "Code is empty": "A kód üres",
    "No matching permissions found": "Nem található megfelelő jogosultság",
    "membership not found": "A tagság nem található",
    "Phone is invalid (codes are not sent to this kind of number)":
      "A telefonszám érvénytelen (ilyen típusú számra nem küldünk kódot)",
    "Too many codes sent by this service (try again later)":
      "Ez a szolgáltatás túl sok kódot küldött (próbálja újra később)",
    "Too many codes sent to this country (try again later)":
      "Túl sok kódot küldtünk ebbe az országba (próbálja újra később)",
    "Too many codes sent to this number range (try again later)":
      "Túl sok kódot küldtünk erre a számtartományra (próbálja újra később)",
    "Codes to this destination are paused because too few of them were verified (try again later)":
      "A kódküldés erre a célra a kevés megerősítés miatt szünetel (próbálja újra később)",
  },
  id: {
    "Phone must be 1 to 50 characters": "Nomor telepon harus terdiri dari 1 sampai 50 karakter",
    "Code must be 1 to 200 characters": "Kode harus terdiri dari 1 sampai 200 karakter",
    "Phone is invalid": "Nomor telepon tidak valid",
    "Phone is invalid (not a possible number for its country)":
      "Nomor telepon tidak valid (tidak mungkin untuk negaranya)",
    "Phone is invalid (not an assigned number for its country)":
      "Nomor telepon tidak valid (tidak dialokasikan di negaranya)",
    "Phone is invalid (not a mobile number)": "Nomor telepon tidak valid (bukan nomor seluler)",
    "User could not be found": "Pengguna tidak ditemukan",
    "Phone not changed": "Nomor telepon tidak berubah",
    "Code not found": "Kode tidak ditemukan",
    "Code is invalid": "Kode tidak valid",
    "Code is blocked after too many failed attempts (request a new code)":
      "Kode diblokir setelah terlalu banyak percobaan gagal (minta kode baru)",
    "Phone is invalid (codes are not sent to this country)":
      "Nomor telepon tidak valid (kode tidak dikirim ke negara ini)",
    "A code was sent moments ago (wait before requesting another)":
      "Kode baru saja dikirim (tunggu sebentar sebelum meminta kode lain)",
    "Too many codes sent for this user (try again later)":
      "Terlalu banyak kode dikirim untuk pengguna ini (coba lagi nanti)",
    "Too many codes sent to this number (try again later)":
      "Terlalu banyak kode dikirim ke nomor ini (coba lagi nanti)",
    "Too many codes requested from this address (try again later)":
      "Terlalu banyak kode diminta dari alamat ini (coba lagi nanti)",
    "Phone not found": "Nomor telepon tidak ditemukan",
    "Phone already verified": "Nomor telepon sudah dikonfirmasi",
    "The User must be personal": "Pengguna harus berupa orang",
    "auth header missing": "Header otorisasi tidak ada",
    "invalid auth header": "Header otorisasi tidak valid",
    "Token is invalid": "Token tidak valid",
    "Organisation doesn't exist": "Organisasi tidak ada",
    "Token cannot be verified now (identity provider unreachable)":
      "Token tidak dapat diperiksa saat ini (penyedia identitas tidak dapat dihubungi)",
    "User already exists": "Pengguna sudah ada",
    "An internal error occurred": "Terjadi kesalahan internal",
    "Service is shutting down": "Layanan sedang dihentikan",
    "Code cannot be checked now (verification service unreachable)":
      "Kode tidak dapat diperiksa saat ini (layanan verifikasi tidak dapat dihubungi)",
    "Too many codes sent to this number for this user (try again later)":
      "Terlalu banyak kode dikirim ke nomor ini untuk pengguna ini (coba lagi nanti)",
    "Too many codes sent to this number from this address (try again later)":
      "Terlalu banyak kode dikirim ke nomor ini dari alamat ini (coba lagi nanti)",
    "The code cannot be checked by this server right now (try again)":
      "Server ini tidak dapat memeriksa kode saat ini (coba lagi)",
    "The database cannot be reached (try again shortly)": "Basis data tidak dapat dihubungi (coba lagi sebentar lagi)",
    "User ID must be 1 to 200 characters": "ID pengguna harus terdiri dari 1 sampai 200 karakter",
    "Phone must be 1 to 200 characters": "Nomor telepon harus terdiri dari 1 sampai 200 karakter",
    "Code must be 1 to 20 characters": "Kode harus terdiri dari 1 sampai 20 karakter",
    "is_verified must be true when set": "is_verified harus bernilai true jika diisi",
    "Code is empty": "Kode kosong",
    "No matching permissions found": "Tidak ditemukan izin yang sesuai",
    "membership not found": "Keanggotaan tidak ditemukan",
    "Phone is invalid (codes are not sent to this kind of number)":
      "Nomor telepon tidak valid (kode tidak dikirim ke jenis nomor ini)",
    "Too many codes sent by this service (try again later)":
      "Layanan ini mengirim terlalu banyak kode (coba lagi nanti)",
    "Too many codes sent to this country (try again later)":
      "Terlalu banyak kode dikirim ke negara ini (coba lagi nanti)",
    "Too many codes sent to this number range (try again later)":
      "Terlalu banyak kode dikirim ke rentang nomor ini (coba lagi nanti)",
    "Codes to this destination are paused because too few of them were verified (try again later)":
      "Pengiriman kode ke tujuan ini dijeda karena terlalu sedikit yang dikonfirmasi (coba lagi nanti)",
  },
  it: {
    "Phone must be 1 to 50 characters": "Il numero di telefono deve avere da 1 a 50 caratteri",
    "Code must be 1 to 200 characters": "Il codice deve avere da 1 a 200 caratteri",
    "Phone is invalid": "Il numero di telefono non è valido",
    "Phone is invalid (not a possible number for its country)":
      "Il numero di telefono non è valido (non possibile per il suo paese)",
    "Phone is invalid (not an assigned number for its country)":
      "Il numero di telefono non è valido (non assegnato nel suo paese)",
    "Phone is invalid (not a mobile number)": "Il numero di telefono non è valido (non è un numero mobile)",
    "User could not be found": "Utente non trovato",
    "Phone not changed": "Il numero di telefono non è cambiato",
    "Code not found": "Nessun codice trovato",
    "Code is invalid": "Il codice non è valido",
    "Code is blocked after too many failed attempts (request a new code)":
      "Il codice è bloccato dopo troppi tentativi falliti (richiedine uno nuovo)",
    "Phone is invalid (codes are not sent to this country)":
      "Il numero di telefono non è valido (nessun codice viene inviato in questo paese)",
    "A code was sent moments ago (wait before requesting another)":
      "Un codice è appena stato inviato (attendi prima di richiederne un altro)",
    "Too many codes sent for this user (try again later)":
      "Troppi codici inviati per questo utente (riprova più tardi)",
    "Too many codes sent to this number (try again later)": "Troppi codici inviati a questo numero (riprova più tardi)",
    "Too many codes requested from this address (try again later)":
      "Troppi codici richiesti da questo indirizzo (riprova più tardi)",
    "Phone not found": "Nessun numero di telefono trovato",
    "Phone already verified": "Il numero di telefono è già confermato",
    "The User must be personal": "L'utente deve essere una persona",
    "auth header missing": "Intestazione di autorizzazione mancante",
    "invalid auth header": "Intestazione di autorizzazione non valida",
    "Token is invalid": "Il token non è valido",
    "Organisation doesn't exist": "L'organizzazione non esiste",
    "Token cannot be verified now (identity provider unreachable)":
      "Il token non può essere verificato ora (provider di identità non raggiungibile)",
    "User already exists": "L'utente esiste già",
    "An internal error occurred": "Si è verificato un errore interno",
    "Service is shutting down": "Il servizio si sta arrestando",
    "Code cannot be checked now (verification service unreachable)":
      "Il codice non può essere verificato ora (servizio di verifica non raggiungibile)",
    "Too many codes sent to this number for this user (try again later)":
      "Troppi codici inviati a questo numero per questo utente (riprova più tardi)",
    "Too many codes sent to this number from this address (try again later)":
      "Troppi codici inviati a questo numero da questo indirizzo (riprova più tardi)",
    "The code cannot be checked by this server right now (try again)":
      "Questo server non può verificare il codice ora (riprova)",
    "The database cannot be reached (try again shortly)": "Il database non è raggiungibile (riprova tra poco)",
    "User ID must be 1 to 200 characters": "L'ID utente deve avere da 1 a 200 caratteri",
    "Phone must be 1 to 200 characters": "Il numero di telefono deve avere da 1 a 200 caratteri",
    "Code must be 1 to 20 characters": "Il codice deve avere da 1 a 20 caratteri",
    "is_verified must be true when set": "is_verified deve essere true se indicato",
    "Code is empty": "Il codice è vuoto",
    "No matching permissions found": "Nessuna autorizzazione corrispondente trovata",
    "membership not found": "Appartenenza non trovata",
    "Phone is invalid (codes are not sent to this kind of number)":
      "Il numero di telefono non è valido (nessun codice viene inviato a questo tipo di numero)",
    "Too many codes sent by this service (try again later)":
      "Troppi codici inviati da questo servizio (riprova più tardi)",
    "Too many codes sent to this country (try again later)":
      "Troppi codici inviati verso questo paese (riprova più tardi)",
    "Too many codes sent to this number range (try again later)":
      "Troppi codici inviati a questo intervallo di numeri (riprova più tardi)",
    "Codes to this destination are paused because too few of them were verified (try again later)":
      "I codici verso questa destinazione sono sospesi perché troppo pochi sono stati confermati (riprova più tardi)",
  },
  ja: {
    "Phone must be 1 to 50 characters": "電話番号は1～50文字で入力してください",
    "Code must be 1 to 200 characters": "コードは1～200文字で入力してください",
    "Phone is invalid": "電話番号が無効です",
    "Phone is invalid (not a possible number for its country)": "電話番号が無効です（その国では存在し得ない番号です）",
    "Phone is invalid (not an assigned number for its country)":
      "電話番号が無効です（その国で割り当てられていない番号です）",
    "Phone is invalid (not a mobile number)": "電話番号が無効です（携帯電話番号ではありません）",
    "User could not be found": "ユーザーが見つかりません",
    "Phone not changed": "電話番号は変更されていません",
    "Code not found": "コードが見つかりません",
    "Code is invalid": "コードが無効です",
    "Code is blocked after too many failed attempts (request a new code)":
      "失敗が多すぎるためコードはブロックされました（新しいコードを要求してください）",
    "Phone is invalid (codes are not sent to this country)": "電話番号が無効です（この国にはコードを送信しません）",
    "A code was sent moments ago (wait before requesting another)":
      "コードを送信したばかりです（しばらく待ってから再度要求してください）",
    "Too many codes sent for this user (try again later)":
      "このユーザーへのコード送信が多すぎます（後でもう一度お試しください）",
    "Too many codes sent to this number (try again later)":
      "この番号へのコード送信が多すぎます（後でもう一度お試しください）",
    "Too many codes requested from this address (try again later)":
      "このアドレスからのコード要求が多すぎます（後でもう一度お試しください）",
    "Phone not found": "電話番号が見つかりません",
    "Phone already verified": "電話番号はすでに確認済みです",
    "The User must be personal": "ユーザーは個人である必要があります",
    "auth header missing": "認証ヘッダーがありません",
    "invalid auth header": "認証ヘッダーが無効です",
    "Token is invalid": "トークンが無効です",
    "Organisation doesn't exist": "組織が存在しません",
    "Token cannot be verified now (identity provider unreachable)":
      "現在トークンを検証できません（IDプロバイダーに接続できません）",
    "User already exists": "ユーザーはすでに存在します",
    "An internal error occurred": "内部エラーが発生しました",
    "Service is shutting down": "サービスを停止しています",
    "Code cannot be checked now (verification service unreachable)":
      "現在コードを確認できません（検証サービスに接続できません）",
    "Too many codes sent to this number for this user (try again later)":
      "このユーザーからこの番号へのコード送信が多すぎます（後でもう一度お試しください）",
    "Too many codes sent to this number from this address (try again later)":
      "このアドレスからこの番号へのコード送信が多すぎます（後でもう一度お試しください）",
    "The code cannot be checked by this server right now (try again)":
      "このサーバーでは現在コードを確認できません（もう一度お試しください）",
    "The database cannot be reached (try again shortly)":
      "データベースに接続できません（しばらくしてからもう一度お試しください）",
    "User ID must be 1 to 200 characters": "ユーザーIDは1～200文字で入力してください",
    "Phone must be 1 to 200 characters": "電話番号は1～200文字で入力してください",
    "Code must be 1 to 20 characters": "コードは1～20文字で入力してください",
    "is_verified must be true when set": "is_verifiedを指定する場合はtrueにしてください",
    "Code is empty": "コードが空です",
    "No matching permissions found": "一致する権限が見つかりません",
    "membership not found": "メンバーシップが見つかりません",
    "Phone is invalid (codes are not sent to this kind of number)":
      "電話番号が無効です（この種類の番号にはコードを送信しません）",
    "Too many codes sent by this service (try again later)":
      "このサービスから送信されたコードが多すぎます（後でもう一度お試しください）",
    "Too many codes sent to this country (try again later)":
      "この国へのコード送信が多すぎます（後でもう一度お試しください）",
    "Too many codes sent to this number range (try again later)":
      "この番号範囲へのコード送信が多すぎます（後でもう一度お試しください）",
    "Codes to this destination are paused because too few of them were verified (try again later)":
      "確認されたコードが少なすぎるため、この宛先へのコード送信を一時停止しています（後でもう一度お試しください）",
  },
  ko: {
    "Phone must be 1 to 50 characters": "전화번호는 1~50자여야 합니다",
    "Code must be 1 to 200 characters": "코드는 1~200자여야 합니다",
    "Phone is invalid": "전화번호가 올바르지 않습니다",
    "Phone is invalid (not a possible number for its country)":
      "전화번호가 올바르지 않습니다 (해당 국가에서 가능한 번호가 아닙니다)",
    "Phone is invalid (not an assigned number for its country)":
      "전화번호가 올바르지 않습니다 (해당 국가에서 할당되지 않은 번호입니다)",
    "Phone is invalid (not a mobile number)": "전화번호가 올바르지 않습니다 (휴대전화 번호가 아닙니다)",
    "User could not be found": "사용자를 찾을 수 없습니다",
    "Phone not changed": "전화번호가 변경되지 않았습니다",
    "Code not found": "코드를 찾을 수 없습니다",
    "Code is invalid": "코드가 올바르지 않습니다",
    "Code is blocked after too many failed attempts (request a new code)":
      "실패한 시도가 너무 많아 코드가 차단되었습니다 (새 코드를 요청하세요)",
    "Phone is invalid (codes are not sent to this country)":
      "전화번호가 올바르지 않습니다 (이 국가로는 코드를 보내지 않습니다)",
    "A code was sent moments ago (wait before requesting another)": "방금 코드를 보냈습니다 (잠시 후 다시 요청하세요)",
    "Too many codes sent for this user (try again later)":
      "이 사용자에게 보낸 코드가 너무 많습니다 (나중에 다시 시도하세요)",
    "Too many codes sent to this number (try again later)":
      "이 번호로 보낸 코드가 너무 많습니다 (나중에 다시 시도하세요)",
    "Too many codes requested from this address (try again later)":
      "이 주소에서 요청한 코드가 너무 많습니다 (나중에 다시 시도하세요)",
    "Phone not found": "전화번호를 찾을 수 없습니다",
    "Phone already verified": "전화번호가 이미 확인되었습니다",
    "The User must be personal": "사용자는 개인이어야 합니다",
    "auth header missing": "인증 헤더가 없습니다",
    "invalid auth header": "인증 헤더가 올바르지 않습니다",
    "Token is invalid": "토큰이 올바르지 않습니다",
    "Organisation doesn't exist": "조직이 존재하지 않습니다",
    "Token cannot be verified now (identity provider unreachable)":
      "지금은 토큰을 확인할 수 없습니다 (ID 공급자에 연결할 수 없음)",
    "User already exists": "사용자가 이미 존재합니다",
    "An internal error occurred": "내부 오류가 발생했습니다",
    "Service is shutting down": "서비스를 종료하는 중입니다",
    "Code cannot be checked now (verification service unreachable)":
      "지금은 코드를 확인할 수 없습니다 (인증 서비스에 연결할 수 없음)",
    "Too many codes sent to this number for this user (try again later)":
      "이 사용자가 이 번호로 보낸 코드가 너무 많습니다 (나중에 다시 시도하세요)",
    "Too many codes sent to this number from this address (try again later)":
      "이 주소에서 이 번호로 보낸 코드가 너무 많습니다 (나중에 다시 시도하세요)",
    "The code cannot be checked by this server right now (try again)":
      "이 서버는 지금 코드를 확인할 수 없습니다 (다시 시도하세요)",
    "The database cannot be reached (try again shortly)": "데이터베이스에 연결할 수 없습니다 (잠시 후 다시 시도하세요)",
    "User ID must be 1 to 200 characters": "사용자 ID는 1~200자여야 합니다",
    "Phone must be 1 to 200 characters": "전화번호는 1~200자여야 합니다",
    "Code must be 1 to 20 characters": "코드는 1~20자여야 합니다",
    "is_verified must be true when set": "is_verified를 지정하면 true여야 합니다",
    "Code is empty": "코드가 비어 있습니다",
    "No matching permissions found": "일치하는 권한을 찾을 수 없습니다",
    "membership not found": "멤버십을 찾을 수 없습니다",
    "Phone is invalid (codes are not sent to this kind of number)":
      "전화번호가 올바르지 않습니다 (이 종류의 번호로는 코드를 보내지 않습니다)",
    "Too many codes sent by this service (try again later)":
      "이 서비스에서 보낸 코드가 너무 많습니다 (나중에 다시 시도하세요)",
    "Too many codes sent to this country (try again later)":
      "이 국가로 보낸 코드가 너무 많습니다 (나중에 다시 시도하세요)",
    "Too many codes sent to this number range (try again later)":
      "이 번호 대역으로 보낸 코드가 너무 많습니다 (나중에 다시 시도하세요)",
    "Codes to this destination are paused because too few of them were verified (try again later)":
      "확인된 코드가 너무 적어 이 대상으로의 코드 전송이 일시 중지되었습니다 (나중에 다시 시도하세요)",
  },
  mk: {
    "Phone must be 1 to 50 characters": "Телефонскиот број мора да има од 1 до 50 знаци",
    "Code must be 1 to 200 characters": "Кодот мора да има од 1 до 200 знаци",
    "Phone is invalid": "Неважечки телефонски број",
    "Phone is invalid (not a possible number for its country)":
      "Неважечки телефонски број (невозможен за својата земја)",
    "Phone is invalid (not an assigned number for its country)":
      "Неважечки телефонски број (не е доделен во својата земја)",
    "Phone is invalid (not a mobile number)": "Неважечки телефонски број (не е мобилен број)",
    "User could not be found": "Корисникот не е пронајден",
    "Phone not changed": "Телефонскиот број не е променет",
    "Code not found": "Не е пронајден код",
    "Code is invalid": "Неважечки код",
    "Code is blocked after too many failed attempts (request a new code)":
      "Кодот е блокиран по премногу неуспешни обиди (побарајте нов)",
    "Phone is invalid (codes are not sent to this country)":
      "Неважечки телефонски број (во оваа земја не се испраќаат кодови)",
    "A code was sent moments ago (wait before requesting another)":
      "Штотуку е испратен код (почекајте пред да побарате нов)",
    "Too many codes sent for this user (try again later)": "Премногу кодови за овој корисник (обидете се подоцна)",
    "Too many codes sent to this number (try again later)": "Премногу кодови на овој број (обидете се подоцна)",
    "Too many codes requested from this address (try again later)":
      "Премногу барања за код од оваа адреса (обидете се подоцна)",
    "Phone not found": "Не е пронајден телефонски број",
    "Phone already verified": "Телефонскиот број е веќе потврден",
    "The User must be personal": "Корисникот мора да биде личност",
    "auth header missing": "Недостасува заглавие за авторизација",
    "invalid auth header": "Неважечко заглавие за авторизација",
    "Token is invalid": "Неважечки токен",
    "Organisation doesn't exist": "Организацијата не постои",
    "Token cannot be verified now (identity provider unreachable)":
      "Токенот не може да се провери сега (давателот на идентитет е недостапен)",
    "User already exists": "Корисникот веќе постои",
    "An internal error occurred": "Настана внатрешна грешка",
    "Service is shutting down": "Услугата се исклучува",
    "Code cannot be checked now (verification service unreachable)":
      "Кодот не може да се провери сега (услугата за проверка е недостапна)",
    "Too many codes sent to this number for this user (try again later)":
      "Премногу кодови на овој број за овој корисник (обидете се подоцна)",
    "Too many codes sent to this number from this address (try again later)":
      "Премногу кодови на овој број од оваа адреса (обидете се подоцна)",
    "The code cannot be checked by this server right now (try again)":
      "Овој сервер не може да го провери кодот сега (обидете се повторно)",
    "The database cannot be reached (try again shortly)":
      "Базата на податоци е недостапна (обидете се повторно наскоро)",
    "User ID must be 1 to 200 characters": "ID на корисникот мора да има од 1 до 200 знаци",
    "Phone must be 1 to 200 characters": "Телефонскиот број мора да има од 1 до 200 знаци",
    "Code must be 1 to 20 characters": "Кодот мора да има од 1 до 20 знаци",
    "is_verified must be true when set": "is_verified мора да биде true ако е зададено",
    "Code is empty": "Кодот е празен",
    "No matching permissions found": "Не се пронајдени соодветни дозволи",
    "membership not found": "Членството не е пронајдено",
    "Phone is invalid (codes are not sent to this kind of number)":
      "Неважечки телефонски број (на овој вид броеви не се испраќаат кодови)",
    "Too many codes sent by this service (try again later)": "Оваа услуга испрати премногу кодови (обидете се подоцна)",
    "Too many codes sent to this country (try again later)": "Премногу кодови во оваа земја (обидете се подоцна)",
    "Too many codes sent to this number range (try again later)":
      "Премногу кодови во овој опсег на броеви (обидете се подоцна)",
    "Codes to this destination are paused because too few of them were verified (try again later)":
      "Кодовите кон оваа дестинација се паузирани поради премалку потврди (обидете се подоцна)",
  },
  nl: {
    "Phone must be 1 to 50 characters": "Het telefoonnummer moet 1 tot 50 tekens lang zijn",
    "Code must be 1 to 200 characters": "De code moet 1 tot 200 tekens lang zijn",
    "Phone is invalid": "Het telefoonnummer is ongeldig",
    "Phone is invalid (not a possible number for its country)":
      "Het telefoonnummer is ongeldig (niet mogelijk voor het land)",
    "Phone is invalid (not an assigned number for its country)":
      "Het telefoonnummer is ongeldig (niet uitgegeven in het land)",
    "Phone is invalid (not a mobile number)": "Het telefoonnummer is ongeldig (geen mobiel nummer)",
    "User could not be found": "Gebruiker niet gevonden",
    "Phone not changed": "Het telefoonnummer is niet gewijzigd",
    "Code not found": "Geen code gevonden",
    "Code is invalid": "De code is ongeldig",
    "Code is blocked after too many failed attempts (request a new code)":
      "De code is geblokkeerd na te veel mislukte pogingen (vraag een nieuwe aan)",
    "Phone is invalid (codes are not sent to this country)":
      "Het telefoonnummer is ongeldig (naar dit land worden geen codes verstuurd)",
    "A code was sent moments ago (wait before requesting another)":
      "Er is zojuist een code verstuurd (wacht even voordat je een nieuwe aanvraagt)",
    "Too many codes sent for this user (try again later)":
      "Te veel codes verstuurd voor deze gebruiker (probeer het later opnieuw)",
    "Too many codes sent to this number (try again later)":
      "Te veel codes verstuurd naar dit nummer (probeer het later opnieuw)",
    "Too many codes requested from this address (try again later)":
      "Te veel codes aangevraagd vanaf dit adres (probeer het later opnieuw)",
    "Phone not found": "Geen telefoonnummer gevonden",
    "Phone already verified": "Het telefoonnummer is al bevestigd",
    "The User must be personal": "De gebruiker moet een persoon zijn",
    "auth header missing": "Autorisatieheader ontbreekt",
    "invalid auth header": "Ongeldige autorisatieheader",
    "Token is invalid": "Het token is ongeldig",
    "Organisation doesn't exist": "De organisatie bestaat niet",
    "Token cannot be verified now (identity provider unreachable)":
      "Het token kan nu niet worden gecontroleerd (identiteitsprovider onbereikbaar)",
    "User already exists": "De gebruiker bestaat al",
    "An internal error occurred": "Er is een interne fout opgetreden",
    "Service is shutting down": "De dienst wordt afgesloten",
    "Code cannot be checked now (verification service unreachable)":
      "De code kan nu niet worden gecontroleerd (verificatiedienst onbereikbaar)",
    "Too many codes sent to this number for this user (try again later)":
      "Te veel codes verstuurd naar dit nummer voor deze gebruiker (probeer het later opnieuw)",
    "Too many codes sent to this number from this address (try again later)":
      "Te veel codes verstuurd naar dit nummer vanaf dit adres (probeer het later opnieuw)",
    "The code cannot be checked by this server right now (try again)":
      "Deze server kan de code nu niet controleren (probeer het opnieuw)",
    "The database cannot be reached (try again shortly)": "De database is onbereikbaar (probeer het zo opnieuw)",
    "User ID must be 1 to 200 characters": "De gebruikers-ID moet 1 tot 200 tekens lang zijn",
    "Phone must be 1 to 200 characters": "Het telefoonnummer moet 1 tot 200 tekens lang zijn",
    "Code must be 1 to 20 characters": "De code moet 1 tot 20 tekens lang zijn",
    "is_verified must be true when set": "is_verified moet true zijn als het is opgegeven",
    "Code is empty": "De code is leeg",
    "No matching permissions found": "Geen passende rechten gevonden",
    "membership not found": "Lidmaatschap niet gevonden",
    "Phone is invalid (codes are not sent to this kind of number)":
      "Het telefoonnummer is ongeldig (naar dit soort nummer worden geen codes verstuurd)",
    "Too many codes sent by this service (try again later)":
      "Te veel codes verstuurd door deze dienst (probeer het later opnieuw)",
    "Too many codes sent to this country (try again later)":
      "Te veel codes verstuurd naar dit land (probeer het later opnieuw)",
    "Too many codes sent to this number range (try again later)":
      "Te veel codes verstuurd naar deze nummerreeks (probeer het later opnieuw)",
    "Codes to this destination are paused because too few of them were verified (try again later)":
      "Codes naar deze bestemming zijn gepauzeerd omdat te weinig zijn bevestigd (probeer het later opnieuw)",
  },
  pl: {
    "Phone must be 1 to 50 characters": "Numer telefonu musi mieć od 1 do 50 znaków",
    "Code must be 1 to 200 characters": "Kod musi mieć od 1 do 200 znaków",
    "Phone is invalid": "Numer telefonu jest nieprawidłowy",
    "Phone is invalid (not a possible number for its country)":
      "Numer telefonu jest nieprawidłowy (niemożliwy w swoim kraju)",
    "Phone is invalid (not an assigned number for its country)":
      "Numer telefonu jest nieprawidłowy (nieprzydzielony w swoim kraju)",
    "Phone is invalid (not a mobile number)": "Numer telefonu jest nieprawidłowy (to nie jest numer komórkowy)",
    "User could not be found": "Nie znaleziono użytkownika",
    "Phone not changed": "Numer telefonu nie został zmieniony",
    "Code not found": "Nie znaleziono kodu",
    "Code is invalid": "Kod jest nieprawidłowy",
    "Code is blocked after too many failed attempts (request a new code)":
      "Kod został zablokowany po zbyt wielu nieudanych próbach (poproś o nowy)",
    "Phone is invalid (codes are not sent to this country)":
      "Numer telefonu jest nieprawidłowy (kody nie są wysyłane do tego kraju)",
    "A code was sent moments ago (wait before requesting another)":
      "Kod został przed chwilą wysłany (odczekaj przed prośbą o kolejny)",
    "Too many codes sent for this user (try again later)":
      "Wysłano zbyt wiele kodów dla tego użytkownika (spróbuj ponownie później)",
    "Too many codes sent to this number (try again later)":
      "Wysłano zbyt wiele kodów na ten numer (spróbuj ponownie później)",
    "Too many codes requested from this address (try again later)":
      "Z tego adresu zażądano zbyt wielu kodów (spróbuj ponownie później)",
    "Phone not found": "Nie znaleziono numeru telefonu",
    "Phone already verified": "Numer telefonu jest już potwierdzony",
    "The User must be personal": "Użytkownik musi być osobą",
    "auth header missing": "Brak nagłówka autoryzacji",
    "invalid auth header": "Nieprawidłowy nagłówek autoryzacji",
    "Token is invalid": "Token jest nieprawidłowy",
    "Organisation doesn't exist": "Organizacja nie istnieje",
    "Token cannot be verified now (identity provider unreachable)":
      "Nie można teraz sprawdzić tokenu (dostawca tożsamości jest nieosiągalny)",
    "User already exists": "Użytkownik już istnieje",
    "An internal error occurred": "Wystąpił błąd wewnętrzny",
    "Service is shutting down": "Usługa jest zamykana",
    "Code cannot be checked now (verification service unreachable)":
      "Nie można teraz sprawdzić kodu (usługa weryfikacji jest nieosiągalna)",
    "Too many codes sent to this number for this user (try again later)":
      "Wysłano zbyt wiele kodów na ten numer dla tego użytkownika (spróbuj ponownie później)",
    "Too many codes sent to this number from this address (try again later)":
      "Z tego adresu zażądano zbyt wielu kodów na ten numer (spróbuj ponownie później)",
    "The code cannot be checked by this server right now (try again)":
      "Ten serwer nie może teraz sprawdzić kodu (spróbuj ponownie)",
    "The database cannot be reached (try again shortly)": "Baza danych jest nieosiągalna (spróbuj ponownie za chwilę)",
    "User ID must be 1 to 200 characters": "Identyfikator użytkownika musi mieć od 1 do 200 znaków",
    "Phone must be 1 to 200 characters": "Numer telefonu musi mieć od 1 do 200 znaków",
    "Code must be 1 to 20 characters": "Kod musi mieć od 1 do 20 znaków",
    "is_verified must be true when set": "is_verified musi mieć wartość true jeśli jest podane",
    "Code is empty": "Kod jest pusty",
    "No matching permissions found": "Nie znaleziono pasujących uprawnień",
    "membership not found": "Nie znaleziono członkostwa",
    "Phone is invalid (codes are not sent to this kind of number)":
      "Numer telefonu jest nieprawidłowy (kody nie są wysyłane na ten rodzaj numeru)",
    "Too many codes sent by this service (try again later)":
      "Ta usługa wysłała zbyt wiele kodów (spróbuj ponownie później)",
    "Too many codes sent to this country (try again later)":
      "Wysłano zbyt wiele kodów do tego kraju (spróbuj ponownie później)",
    "Too many codes sent to this number range (try again later)":
      "Wysłano zbyt wiele kodów do tego zakresu numerów (spróbuj ponownie później)",
    "Codes to this destination are paused because too few of them were verified (try again later)":
      "Wysyłanie kodów do tego miejsca wstrzymano z powodu zbyt małej liczby potwierdzeń (spróbuj ponownie później)",
  },
  pt: {
    "Phone must be 1 to 50 characters": "O número de telefone deve ter de 1 a 50 caracteres",
    "Code must be 1 to 200 characters": "O código deve ter de 1 a 200 caracteres",
    "Phone is invalid": "O número de telefone é inválido",
    "Phone is invalid (not a possible number for its country)":
      "O número de telefone é inválido (impossível para o seu país)",
    "Phone is invalid (not an assigned number for its country)":
      "O número de telefone é inválido (não atribuído no seu país)",
    "Phone is invalid (not a mobile number)": "O número de telefone é inválido (não é um número móvel)",
    "User could not be found": "Usuário não encontrado",
    "Phone not changed": "O número de telefone não foi alterado",
    "Code not found": "Nenhum código encontrado",
    "Code is invalid": "O código é inválido",
    "Code is blocked after too many failed attempts (request a new code)":
      "O código está bloqueado após muitas tentativas sem sucesso (solicite um novo código)",
    "Phone is invalid (codes are not sent to this country)":
      "O número de telefone é inválido (não são enviados códigos para este país)",
    "A code was sent moments ago (wait before requesting another)":
      "Um código acabou de ser enviado (aguarde antes de pedir outro)",
    "Too many codes sent for this user (try again later)":
      "Códigos demais enviados para este usuário (tente novamente mais tarde)",
    "Too many codes sent to this number (try again later)":
      "Códigos demais enviados para este número (tente novamente mais tarde)",
    "Too many codes requested from this address (try again later)":
      "Códigos demais solicitados a partir deste endereço (tente novamente mais tarde)",
    "Phone not found": "Nenhum número de telefone encontrado",
    "Phone already verified": "O número de telefone já foi confirmado",
    "The User must be personal": "O usuário deve ser uma pessoa",
    "auth header missing": "Cabeçalho de autorização ausente",
    "invalid auth header": "Cabeçalho de autorização inválido",
    "Token is invalid": "O token é inválido",
    "Organisation doesn't exist": "A organização não existe",
    "Token cannot be verified now (identity provider unreachable)":
      "O token não pode ser verificado agora (provedor de identidade inacessível)",
    "User already exists": "O usuário já existe",
    "An internal error occurred": "Ocorreu um erro interno",
    "Service is shutting down": "O serviço está sendo encerrado",
    "Code cannot be checked now (verification service unreachable)":
      "O código não pode ser verificado agora (serviço de verificação inacessível)",
    "Too many codes sent to this number for this user (try again later)":
      "Códigos demais enviados para este número para este usuário (tente novamente mais tarde)",
    "Too many codes sent to this number from this address (try again later)":
      "Códigos demais enviados para este número a partir deste endereço (tente novamente mais tarde)",
    "The code cannot be checked by this server right now (try again)":
      "Este servidor não pode verificar o código agora (tente novamente)",
    "The database cannot be reached (try again shortly)":
      "O banco de dados está inacessível (tente novamente em instantes)",
    "User ID must be 1 to 200 characters": "O ID do usuário deve ter de 1 a 200 caracteres",
    "Phone must be 1 to 200 characters": "O número de telefone deve ter de 1 a 200 caracteres",
    "Code must be 1 to 20 characters": "O código deve ter de 1 a 20 caracteres",
    "is_verified must be true when set": "is_verified deve ser true quando informado",
    "Code is empty": "O código está vazio",
    "No matching permissions found": "Nenhuma permissão correspondente encontrada",
    "membership not found": "Associação não encontrada",
    "Phone is invalid (codes are not sent to this kind of number)":
      "O número de telefone é inválido (não são enviados códigos para este tipo de número)",
    "Too many codes sent by this service (try again later)":
      "Códigos demais enviados por este serviço (tente novamente mais tarde)",
    "Too many codes sent to this country (try again later)":
      "Códigos demais enviados para este país (tente novamente mais tarde)",
    "Too many codes sent to this number range (try again later)":
      "Códigos demais enviados para esta faixa de números (tente novamente mais tarde)",
    "Codes to this destination are paused because too few of them were verified (try again later)":
      "Os códigos para este destino estão pausados porque poucos foram confirmados (tente novamente mais tarde)",
  },
  ro: {
    "Phone must be 1 to 50 characters": "Numărul de telefon trebuie să aibă între 1 și 50 de caractere",
    "Code must be 1 to 200 characters": "Codul trebuie să aibă între 1 și 200 de caractere",
    "Phone is invalid": "Numărul de telefon nu este valid",
    "Phone is invalid (not a possible number for its country)":
      "Numărul de telefon nu este valid (nu este posibil în țara sa)",
    "Phone is invalid (not an assigned number for its country)":
      "Numărul de telefon nu este valid (nu este alocat în țara sa)",
    "Phone is invalid (not a mobile number)": "Numărul de telefon nu este valid (nu este un număr de mobil)",
    "User could not be found": "Utilizatorul nu a fost găsit",
    "Phone not changed": "Numărul de telefon nu s-a schimbat",
    "Code not found": "Nu a fost găsit niciun cod",
    "Code is invalid": "Codul nu este valid",
    "Code is blocked after too many failed attempts (request a new code)":
      "Codul este blocat după prea multe încercări eșuate (cereți unul nou)",
    "Phone is invalid (codes are not sent to this country)":
      "Numărul de telefon nu este valid (nu se trimit coduri în această țară)",
    "A code was sent moments ago (wait before requesting another)":
      "Un cod tocmai a fost trimis (așteptați înainte de a cere altul)",
    "Too many codes sent for this user (try again later)":
      "Prea multe coduri trimise pentru acest utilizator (încercați mai târziu)",
    "Too many codes sent to this number (try again later)":
      "Prea multe coduri trimise la acest număr (încercați mai târziu)",
    "Too many codes requested from this address (try again later)":
      "Prea multe coduri cerute de la această adresă (încercați mai târziu)",
    "Phone not found": "Nu a fost găsit niciun număr de telefon",
    "Phone already verified": "Numărul de telefon este deja confirmat",
    "The User must be personal": "Utilizatorul trebuie să fie o persoană",
    "auth header missing": "Lipsește antetul de autorizare",
    "invalid auth header": "Antet de autorizare nevalid",
    "Token is invalid": "Tokenul nu este valid",
    "Organisation doesn't exist": "Organizația nu există",
    "Token cannot be verified now (identity provider unreachable)":
      "Tokenul nu poate fi verificat acum (furnizorul de identitate nu poate fi contactat)",
    "User already exists": "Utilizatorul există deja",
    "An internal error occurred": "A apărut o eroare internă",
    "Service is shutting down": "Serviciul se oprește",
    "Code cannot be checked now (verification service unreachable)":
      "Codul nu poate fi verificat acum (serviciul de verificare nu poate fi contactat)",
    "Too many codes sent to this number for this user (try again later)":
      "Prea multe coduri trimise la acest număr pentru acest utilizator (încercați mai târziu)",
    "Too many codes sent to this number from this address (try again later)":
      "Prea multe coduri trimise la acest număr de la această adresă (încercați mai târziu)",
    "The code cannot be checked by this server right now (try again)":
      "Acest server nu poate verifica acum codul (încercați din nou)",
    "The database cannot be reached (try again shortly)":
      "Baza de date nu poate fi contactată (încercați din nou în curând)",
    "User ID must be 1 to 200 characters": "ID-ul utilizatorului trebuie să aibă între 1 și 200 de caractere",
    "Phone must be 1 to 200 characters": "Numărul de telefon trebuie să aibă între 1 și 200 de caractere",
    "Code must be 1 to 20 characters": "Codul trebuie să aibă între 1 și 20 de caractere",
    "is_verified must be true when set": "is_verified trebuie să fie true dacă este specificat",
    "Code is empty": "Codul este gol",
    "No matching permissions found": "Nu au fost găsite permisiuni potrivite",
    "membership not found": "Apartenența nu a fost găsită",
    "Phone is invalid (codes are not sent to this kind of number)":
      "Numărul de telefon nu este valid (nu se trimit coduri la acest tip de număr)",
    "Too many codes sent by this service (try again later)":
      "Prea multe coduri trimise de acest serviciu (încercați mai târziu)",
    "Too many codes sent to this country (try again later)":
      "Prea multe coduri trimise în această țară (încercați mai târziu)",
    "Too many codes sent to this number range (try again later)":
      "Prea multe coduri trimise către acest interval de numere (încercați mai târziu)",
    "Codes to this destination are paused because too few of them were verified (try again later)":
      "Codurile către această destinație sunt suspendate deoarece prea puține au fost confirmate (încercați mai târziu)",
  },
  ru: {
    "Phone must be 1 to 50 characters": "Номер телефона должен содержать от 1 до 50 символов",
    "Code must be 1 to 200 characters": "Код должен содержать от 1 до 200 символов",
    "Phone is invalid": "Недопустимый номер телефона",
    "Phone is invalid (not a possible number for its country)":
      "Недопустимый номер телефона (невозможен для своей страны)",
    "Phone is invalid (not an assigned number for its country)":
      "Недопустимый номер телефона (не выделен в своей стране)",
    "Phone is invalid (not a mobile number)": "Недопустимый номер телефона (не мобильный номер)",
    "User could not be found": "Пользователь не найден",
    "Phone not changed": "Номер телефона не изменился",
    "Code not found": "Код не найден",
    "Code is invalid": "Неверный код",
    "Code is blocked after too many failed attempts (request a new code)":
      "Код заблокирован после слишком многих неудачных попыток (запросите новый)",
    "Phone is invalid (codes are not sent to this country)":
      "Недопустимый номер телефона (в эту страну коды не отправляются)",
    "A code was sent moments ago (wait before requesting another)":
      "Код только что отправлен (подождите перед следующим запросом)",
    "Too many codes sent for this user (try again later)":
      "Слишком много кодов отправлено для этого пользователя (повторите попытку позже)",
    "Too many codes sent to this number (try again later)":
      "Слишком много кодов отправлено на этот номер (повторите попытку позже)",
    "Too many codes requested from this address (try again later)":
      "Слишком много кодов запрошено с этого адреса (повторите попытку позже)",
    "Phone not found": "Номер телефона не найден",
    "Phone already verified": "Номер телефона уже подтверждён",
    "The User must be personal": "Пользователь должен быть человеком",
    "auth header missing": "Отсутствует заголовок авторизации",
    "invalid auth header": "Недопустимый заголовок авторизации",
    "Token is invalid": "Недействительный токен",
    "Organisation doesn't exist": "Организация не существует",
    "Token cannot be verified now (identity provider unreachable)":
      "Токен сейчас невозможно проверить (поставщик удостоверений недоступен)",
    "User already exists": "Пользователь уже существует",
    "An internal error occurred": "Произошла внутренняя ошибка",
    "Service is shutting down": "Сервис завершает работу",
    "Code cannot be checked now (verification service unreachable)":
      "Код сейчас невозможно проверить (служба проверки недоступна)",
    "Too many codes sent to this number for this user (try again later)":
      "Слишком много кодов отправлено на этот номер для этого пользователя (повторите попытку позже)",
    "Too many codes sent to this number from this address (try again later)":
      "Слишком много кодов на этот номер запрошено с этого адреса (повторите попытку позже)",
    "The code cannot be checked by this server right now (try again)":
      "Этот сервер сейчас не может проверить код (повторите попытку)",
    "The database cannot be reached (try again shortly)": "База данных недоступна (повторите попытку чуть позже)",
    "User ID must be 1 to 200 characters": "ID пользователя должен содержать от 1 до 200 символов",
    "Phone must be 1 to 200 characters": "Номер телефона должен содержать от 1 до 200 символов",
    "Code must be 1 to 20 characters": "Код должен содержать от 1 до 20 символов",
    "is_verified must be true when set": "is_verified должен быть true если указан",
    "Code is empty": "Код пуст",
    "No matching permissions found": "Подходящие разрешения не найдены",
    "membership not found": "Членство не найдено",
    "Phone is invalid (codes are not sent to this kind of number)":
      "Недопустимый номер телефона (на такой тип номеров коды не отправляются)",
    "Too many codes sent by this service (try again later)":
      "Этот сервис отправил слишком много кодов (повторите попытку позже)",
    "Too many codes sent to this country (try again later)":
      "Слишком много кодов отправлено в эту страну (повторите попытку позже)",
    "Too many codes sent to this number range (try again later)":
      "Слишком много кодов отправлено на этот диапазон номеров (повторите попытку позже)",
    "Codes to this destination are paused because too few of them were verified (try again later)":
      "Отправка кодов в это направление приостановлена из-за слишком малого числа подтверждений (повторите попытку позже)",
  },
  sv: {
    "Phone must be 1 to 50 characters": "Telefonnumret måste vara 1 till 50 tecken långt",
    "Code must be 1 to 200 characters": "Koden måste vara 1 till 200 tecken lång",
    "Phone is invalid": "Telefonnumret är ogiltigt",
    "Phone is invalid (not a possible number for its country)":
      "Telefonnumret är ogiltigt (inte möjligt för sitt land)",
    "Phone is invalid (not an assigned number for its country)":
      "Telefonnumret är ogiltigt (inte tilldelat i sitt land)",
    "Phone is invalid (not a mobile number)": "Telefonnumret är ogiltigt (inte ett mobilnummer)",
    "User could not be found": "Användaren hittades inte",
    "Phone not changed": "Telefonnumret har inte ändrats",
    "Code not found": "Ingen kod hittades",
    "Code is invalid": "Koden är ogiltig",
    "Code is blocked after too many failed attempts (request a new code)":
      "Koden är spärrad efter för många misslyckade försök (begär en ny kod)",
    "Phone is invalid (codes are not sent to this country)":
      "Telefonnumret är ogiltigt (koder skickas inte till det här landet)",
    "A code was sent moments ago (wait before requesting another)":
      "En kod skickades nyss (vänta innan du begär en ny)",
    "Too many codes sent for this user (try again later)":
      "För många koder har skickats för den här användaren (försök igen senare)",
    "Too many codes sent to this number (try again later)":
      "För många koder har skickats till det här numret (försök igen senare)",
    "Too many codes requested from this address (try again later)":
      "För många koder har begärts från den här adressen (försök igen senare)",
    "Phone not found": "Inget telefonnummer hittades",
    "Phone already verified": "Telefonnumret är redan bekräftat",
    "The User must be personal": "Användaren måste vara en person",
    "auth header missing": "Auktoriseringshuvud saknas",
    "invalid auth header": "Ogiltigt auktoriseringshuvud",
    "Token is invalid": "Token är ogiltig",
    "Organisation doesn't exist": "Organisationen finns inte",
    "Token cannot be verified now (identity provider unreachable)":
      "Token kan inte kontrolleras just nu (identitetsleverantören går inte att nå)",
    "User already exists": "Användaren finns redan",
    "An internal error occurred": "Ett internt fel uppstod",
    "Service is shutting down": "Tjänsten håller på att stängas av",
    "Code cannot be checked now (verification service unreachable)":
      "Koden kan inte kontrolleras just nu (verifieringstjänsten går inte att nå)",
    "Too many codes sent to this number for this user (try again later)":
      "För många koder har skickats till det här numret för den här användaren (försök igen senare)",
    "Too many codes sent to this number from this address (try again later)":
      "För många koder till det här numret har begärts från den här adressen (försök igen senare)",
    "The code cannot be checked by this server right now (try again)":
      "Den här servern kan inte kontrollera koden just nu (försök igen)",
    "The database cannot be reached (try again shortly)": "Databasen går inte att nå (försök igen om en stund)",
    "User ID must be 1 to 200 characters": "Användar-id måste vara 1 till 200 tecken långt",
    "Phone must be 1 to 200 characters": "Telefonnumret måste vara 1 till 200 tecken långt",
    "Code must be 1 to 20 characters": "Koden måste vara 1 till 20 tecken lång",
    "is_verified must be true when set": "is_verified måste vara true om det anges",
    "Code is empty": "Koden är tom",
    "No matching permissions found": "Inga matchande behörigheter hittades",
    "membership not found": "Medlemskapet hittades inte",
    "Phone is invalid (codes are not sent to this kind of number)":
      "Telefonnumret är ogiltigt (koder skickas inte till den här typen av nummer)",
    "Too many codes sent by this service (try again later)":
      "För många koder har skickats av den här tjänsten (försök igen senare)",
    "Too many codes sent to this country (try again later)":
      "För många koder har skickats till det här landet (försök igen senare)",
    "Too many codes sent to this number range (try again later)":
      "För många koder har skickats till den här nummerserien (försök igen senare)",
    "Codes to this destination are paused because too few of them were verified (try again later)":
      "Koder till den här destinationen är pausade eftersom för få har bekräftats (försök igen senare)",
  },
  tr: {
    "Phone must be 1 to 50 characters": "Telefon numarası 1 ile 50 karakter arasında olmalıdır",
    "Code must be 1 to 200 characters": "Kod 1 ile 200 karakter arasında olmalıdır",
    "Phone is invalid": "Telefon numarası geçersiz",
    "Phone is invalid (not a possible number for its country)": "Telefon numarası geçersiz (ülkesi için olası değil)",
    "Phone is invalid (not an assigned number for its country)":
      "Telefon numarası geçersiz (ülkesinde tahsis edilmemiş)",
    "Phone is invalid (not a mobile number)": "Telefon numarası geçersiz (mobil numara değil)",
    "User could not be found": "Kullanıcı bulunamadı",
    "Phone not changed": "Telefon numarası değişmedi",
    "Code not found": "Kod bulunamadı",
    "Code is invalid": "Kod geçersiz",
    "Code is blocked after too many failed attempts (request a new code)":
      "Çok fazla hatalı denemeden sonra kod engellendi (yeni bir kod isteyin)",
    "Phone is invalid (codes are not sent to this country)": "Telefon numarası geçersiz (bu ülkeye kod gönderilmiyor)",
    "A code was sent moments ago (wait before requesting another)":
      "Az önce bir kod gönderildi (yenisini istemeden önce bekleyin)",
    "Too many codes sent for this user (try again later)":
      "Bu kullanıcı için çok fazla kod gönderildi (daha sonra tekrar deneyin)",
    "Too many codes sent to this number (try again later)":
      "Bu numaraya çok fazla kod gönderildi (daha sonra tekrar deneyin)",
    "Too many codes requested from this address (try again later)":
      "Bu adresten çok fazla kod istendi (daha sonra tekrar deneyin)",
    "Phone not found": "Telefon numarası bulunamadı",
    "Phone already verified": "Telefon numarası zaten doğrulanmış",
    "The User must be personal": "Kullanıcı bir kişi olmalıdır",
    "auth header missing": "Yetkilendirme başlığı eksik",
    "invalid auth header": "Geçersiz yetkilendirme başlığı",
    "Token is invalid": "Belirteç geçersiz",
    "Organisation doesn't exist": "Kuruluş mevcut değil",
    "Token cannot be verified now (identity provider unreachable)":
      "Belirteç şu anda doğrulanamıyor (kimlik sağlayıcısına ulaşılamıyor)",
    "User already exists": "Kullanıcı zaten mevcut",
    "An internal error occurred": "Dahili bir hata oluştu",
    "Service is shutting down": "Hizmet kapatılıyor",
    "Code cannot be checked now (verification service unreachable)":
      "Kod şu anda kontrol edilemiyor (doğrulama hizmetine ulaşılamıyor)",
    "Too many codes sent to this number for this user (try again later)":
      "Bu kullanıcı için bu numaraya çok fazla kod gönderildi (daha sonra tekrar deneyin)",
    "Too many codes sent to this number from this address (try again later)":
      "Bu adresten bu numaraya çok fazla kod istendi (daha sonra tekrar deneyin)",
    "The code cannot be checked by this server right now (try again)":
      "Bu sunucu kodu şu anda kontrol edemiyor (tekrar deneyin)",
    "The database cannot be reached (try again shortly)": "Veritabanına ulaşılamıyor (birazdan tekrar deneyin)",
    "User ID must be 1 to 200 characters": "Kullanıcı kimliği 1 ile 200 karakter arasında olmalıdır",
    "Phone must be 1 to 200 characters": "Telefon numarası 1 ile 200 karakter arasında olmalıdır",
    "Code must be 1 to 20 characters": "Kod 1 ile 20 karakter arasında olmalıdır",
    "is_verified must be true when set": "is_verified belirtildiğinde true olmalıdır",
    "Code is empty": "Kod boş",
    "No matching permissions found": "Eşleşen izin bulunamadı",
    "membership not found": "Üyelik bulunamadı",
    "Phone is invalid (codes are not sent to this kind of number)":
      "Telefon numarası geçersiz (bu tür numaralara kod gönderilmiyor)",
    "Too many codes sent by this service (try again later)":
      "Bu hizmet çok fazla kod gönderdi (daha sonra tekrar deneyin)",
    "Too many codes sent to this country (try again later)":
      "Bu ülkeye çok fazla kod gönderildi (daha sonra tekrar deneyin)",
    "Too many codes sent to this number range (try again later)":
      "Bu numara aralığına çok fazla kod gönderildi (daha sonra tekrar deneyin)",
    "Codes to this destination are paused because too few of them were verified (try again later)":
      "Çok az kod doğrulandığı için bu hedefe kod gönderimi duraklatıldı (daha sonra tekrar deneyin)",
  },
  uk: {
    "Phone must be 1 to 50 characters": "Номер телефону має містити від 1 до 50 символів",
    "Code must be 1 to 200 characters": "Код має містити від 1 до 200 символів",
    "Phone is invalid": "Недійсний номер телефону",
    "Phone is invalid (not a possible number for its country)":
      "Недійсний номер телефону (неможливий для своєї країни)",
    "Phone is invalid (not an assigned number for its country)":
      "Недійсний номер телефону (не виділений у своїй країні)",
    "Phone is invalid (not a mobile number)": "Недійсний номер телефону (не мобільний номер)",
    "User could not be found": "Користувача не знайдено",
    "Phone not changed": "Номер телефону не змінився",
    "Code not found": "Код не знайдено",
    "Code is invalid": "Невірний код",
    "Code is blocked after too many failed attempts (request a new code)":
      "Код заблоковано після надто багатьох невдалих спроб (запросіть новий)",
    "Phone is invalid (codes are not sent to this country)":
      "Недійсний номер телефону (коди в цю країну не надсилаються)",
    "A code was sent moments ago (wait before requesting another)":
      "Код щойно надіслано (зачекайте перед наступним запитом)",
    "Too many codes sent for this user (try again later)":
      "Надто багато кодів надіслано для цього користувача (спробуйте пізніше)",
    "Too many codes sent to this number (try again later)":
      "Надто багато кодів надіслано на цей номер (спробуйте пізніше)",
    "Too many codes requested from this address (try again later)":
      "Надто багато кодів запитано з цієї адреси (спробуйте пізніше)",
    "Phone not found": "Номер телефону не знайдено",
    "Phone already verified": "Номер телефону вже підтверджено",
    "The User must be personal": "Користувач має бути людиною",
    "auth header missing": "Відсутній заголовок авторизації",
    "invalid auth header": "Недійсний заголовок авторизації",
    "Token is invalid": "Недійсний токен",
    "Organisation doesn't exist": "Організація не існує",
    "Token cannot be verified now (identity provider unreachable)":
      "Токен зараз неможливо перевірити (постачальник ідентичності недоступний)",
    "User already exists": "Користувач уже існує",
    "An internal error occurred": "Сталася внутрішня помилка",
    "Service is shutting down": "Сервіс завершує роботу",
    "Code cannot be checked now (verification service unreachable)":
      "Код зараз неможливо перевірити (служба перевірки недоступна)",
    "Too many codes sent to this number for this user (try again later)":
      "Надто багато кодів надіслано на цей номер для цього користувача (спробуйте пізніше)",
    "Too many codes sent to this number from this address (try again later)":
      "Надто багато кодів на цей номер запитано з цієї адреси (спробуйте пізніше)",
    "The code cannot be checked by this server right now (try again)":
      "Цей сервер зараз не може перевірити код (спробуйте ще раз)",
    "The database cannot be reached (try again shortly)": "База даних недоступна (спробуйте ще раз трохи згодом)",
    "User ID must be 1 to 200 characters": "ID користувача має містити від 1 до 200 символів",
    "Phone must be 1 to 200 characters": "Номер телефону має містити від 1 до 200 символів",
    "Code must be 1 to 20 characters": "Код має містити від 1 до 20 символів",
    "is_verified must be true when set": "is_verified має бути true якщо вказано",
    "Code is empty": "Код порожній",
    "No matching permissions found": "Відповідних дозволів не знайдено",
    "membership not found": "Членство не знайдено",
    "Phone is invalid (codes are not sent to this kind of number)":
      "Недійсний номер телефону (на такий тип номерів коди не надсилаються)",
    "Too many codes sent by this service (try again later)":
      "Цей сервіс надіслав надто багато кодів (спробуйте пізніше)",
    "Too many codes sent to this country (try again later)":
      "Надто багато кодів надіслано в цю країну (спробуйте пізніше)",
    "Too many codes sent to this number range (try again later)":
      "Надто багато кодів надіслано на цей діапазон номерів (спробуйте пізніше)",
    "Codes to this destination are paused because too few of them were verified (try again later)":
      "Надсилання кодів у цьому напрямку призупинено через замало підтверджень (спробуйте пізніше)",
  },
  zh: {
    "Phone must be 1 to 50 characters": "电话号码必须为 1 到 50 个字符",
    "Code must be 1 to 200 characters": "验证码必须为 1 到 200 个字符",
    "Phone is invalid": "电话号码无效",
    "Phone is invalid (not a possible number for its country)": "电话号码无效（在其所属国家不可能存在）",
    "Phone is invalid (not an assigned number for its country)": "电话号码无效（在其所属国家未分配）",
    "Phone is invalid (not a mobile number)": "电话号码无效（不是手机号码）",
    "User could not be found": "找不到用户",
    "Phone not changed": "电话号码未更改",
    "Code not found": "找不到验证码",
    "Code is invalid": "验证码无效",
    "Code is blocked after too many failed attempts (request a new code)": "失败次数过多，验证码已被锁定（请重新获取）",
    "Phone is invalid (codes are not sent to this country)": "电话号码无效（不向该国家发送验证码）",
    "A code was sent moments ago (wait before requesting another)": "验证码刚刚已发送（请稍候再请求）",
    "Too many codes sent for this user (try again later)": "为该用户发送的验证码过多（请稍后再试）",
    "Too many codes sent to this number (try again later)": "发送到该号码的验证码过多（请稍后再试）",
    "Too many codes requested from this address (try again later)": "来自该地址的验证码请求过多（请稍后再试）",
    "Phone not found": "找不到电话号码",
    "Phone already verified": "电话号码已验证",
    "The User must be personal": "用户必须是个人用户",
    "auth header missing": "缺少授权标头",
    "invalid auth header": "授权标头无效",
    "Token is invalid": "令牌无效",
    "Organisation doesn't exist": "组织不存在",
    "Token cannot be verified now (identity provider unreachable)": "暂时无法验证令牌（无法连接身份提供方）",
    "User already exists": "用户已存在",
    "An internal error occurred": "发生内部错误",
    "Service is shutting down": "服务正在关闭",
    "Code cannot be checked now (verification service unreachable)": "暂时无法核对验证码（无法连接验证服务）",
    "Too many codes sent to this number for this user (try again later)":
      "该用户发送到该号码的验证码过多（请稍后再试）",
    "Too many codes sent to this number from this address (try again later)":
      "来自该地址发送到该号码的验证码过多（请稍后再试）",
    "The code cannot be checked by this server right now (try again)": "此服务器暂时无法核对验证码（请重试）",
    "The database cannot be reached (try again shortly)": "无法连接数据库（请稍后重试）",
    "User ID must be 1 to 200 characters": "用户 ID 必须为 1 到 200 个字符",
    "Phone must be 1 to 200 characters": "电话号码必须为 1 到 200 个字符",
    "Code must be 1 to 20 characters": "验证码必须为 1 到 20 个字符",
    "is_verified must be true when set": "设置 is_verified 时其值必须为 true",
    "Code is empty": "验证码为空",
    "No matching permissions found": "未找到匹配的权限",
    "membership not found": "未找到成员资格",
    "Phone is invalid (codes are not sent to this kind of number)": "电话号码无效（不向此类号码发送验证码）",
    "Too many codes sent by this service (try again later)": "此服务发送的验证码过多（请稍后再试）",
    "Too many codes sent to this country (try again later)": "发送到该国家的验证码过多（请稍后再试）",
    "Too many codes sent to this number range (try again later)": "发送到该号码段的验证码过多（请稍后再试）",
    "Codes to this destination are paused because too few of them were verified (try again later)":
      "由于已验证的验证码过少，已暂停向该目的地发送验证码（请稍后再试）",
  },
};

/** The languages error messages are answered in. */
export const ERROR_LANGUAGES: ReadonlySet<string> = new Set<string>(ZITADEL_LANGUAGES);

/**
 * The message of an error in `language` (one of ERROR_LANGUAGES; anything else gets English). English keeps a
 * message an error was raised with in place of its table text.
 */
export function errorMessage(
  error: { readonly definition: ErrorDefinition; readonly message: string },
  language: string,
): string {
  if (language === "en" || !ERROR_LANGUAGES.has(language)) return error.message;
  const translations = TRANSLATIONS[language as Exclude<ZitadelLanguage, "en">];
  return translations[error.definition.message as ErrorMessageKey] ?? error.message;
}

/** Every translation of one table entry, by language (English included), for tests and documentation. */
export function translationsOf(definition: ErrorDefinition): Record<string, string | undefined> {
  const all: Record<string, string | undefined> = { en: definition.message };
  for (const [language, translations] of Object.entries(TRANSLATIONS)) {
    all[language] = (translations as Readonly<Record<string, string>>)[definition.message];
  }
  return all;
}
