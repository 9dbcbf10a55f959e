/**
 * The errors the registry server answers with, in Confluent Schema Registry's shape: an HTTP status and a body
 * `{"error_code": N, "message": "..."}`. The codes and message texts follow Confluent's server so that its clients
 * (which sometimes branch on error_code, and whose users read the message) cannot tell the two apart.
 */
export class RegistryHttpError extends Error {
  constructor(
    readonly status: number,
    readonly errorCode: number,
    message: string,
  ) {
    super(message);
    this.name = 'RegistryHttpError';
  }

  toBody(): { error_code: number; message: string } {
    return { error_code: this.errorCode, message: this.message };
  }
}

const MAX_VERSION_TEXT = '2^31-1';

export const httpErrors = {
  badRequest: (message: string) => new RegistryHttpError(400, 400, message),
  unauthorized: () => new RegistryHttpError(401, 401, 'Unauthorized'),
  routeNotFound: () => new RegistryHttpError(404, 404, 'HTTP 404 Not Found'),
  methodNotAllowed: () => new RegistryHttpError(405, 405, 'HTTP 405 Method Not Allowed'),
  bodyTooLarge: (limit: number) =>
    new RegistryHttpError(413, 413, `Request body is larger than the limit of ${limit} bytes`),
  unsupportedMediaType: () => new RegistryHttpError(415, 415, 'HTTP 415 Unsupported Media Type'),

  subjectNotFound: (subject: string) => new RegistryHttpError(404, 40401, `Subject '${subject}' not found.`),
  versionNotFound: (version: number | string) => new RegistryHttpError(404, 40402, `Version ${version} not found.`),
  schemaNotFound: (id?: number | string) =>
    new RegistryHttpError(404, 40403, id === undefined ? 'Schema not found' : `Schema ${id} not found`),
  subjectSoftDeleted: (subject: string) =>
    new RegistryHttpError(
      404,
      40404,
      `Subject '${subject}' was soft deleted.Set permanent=true to delete permanently`,
    ),
  subjectNotSoftDeleted: (subject: string) =>
    new RegistryHttpError(404, 40405, `Subject '${subject}' was not deleted first before being permanently deleted`),
  versionSoftDeleted: (subject: string, version: number) =>
    new RegistryHttpError(
      404,
      40406,
      `Subject '${subject}' Version ${version} was soft deleted.Set permanent=true to delete permanently`,
    ),
  versionNotSoftDeleted: (subject: string, version: number) =>
    new RegistryHttpError(
      404,
      40407,
      `Subject '${subject}' Version ${version} was not deleted first before being permanently deleted`,
    ),
  subjectCompatibilityNotConfigured: (subject: string) =>
    new RegistryHttpError(404, 40408, `Subject '${subject}' does not have subject-level compatibility configured`),
  subjectModeNotConfigured: (subject: string) =>
    new RegistryHttpError(404, 40409, `Subject '${subject}' does not have subject-level mode configured`),

  incompatible: (message: string) => new RegistryHttpError(409, 409, message),

  invalidSchema: (message: string) => new RegistryHttpError(422, 42201, message),
  invalidVersion: (version: string) =>
    new RegistryHttpError(
      422,
      42202,
      `The specified version '${version}' is not a valid version id. Allowed values are between [1, ${MAX_VERSION_TEXT}] and the string "latest"`,
    ),
  invalidCompatibilityLevel: () =>
    new RegistryHttpError(
      422,
      42203,
      'Invalid compatibility level. Valid values are none, backward, forward, full, backward_transitive, forward_transitive, and full_transitive',
    ),
  invalidMode: (mode: string) =>
    new RegistryHttpError(
      422,
      42204,
      `Invalid mode ${mode}. Valid values are READWRITE, READONLY and READONLY_OVERRIDE`,
    ),
  operationNotPermitted: (message: string) => new RegistryHttpError(422, 42205, message),
  referenceExists: (message: string) => new RegistryHttpError(422, 42206, message),
  invalidSubject: (subject: string) =>
    new RegistryHttpError(422, 42208, `The specified subject '${subject}' is not a valid subject name`),

  store: (message: string) => new RegistryHttpError(500, 50001, message),
  timeout: (message: string) => new RegistryHttpError(500, 50002, message),
} as const;
