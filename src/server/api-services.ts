import { AuthService } from "../../gen/zitadel/auth_pb.js";
import { UserService } from "../../gen/zitadel/user/v2/user_service_pb.js";

/**
 * The services of the API: ZITADEL's v1 AuthService and v2 UserService phone methods. They need a token, are
 * reported by health, and log every call at info; health and reflection are public and log at debug.
 */
export const API_SERVICES = [AuthService, UserService] as const;
