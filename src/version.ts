/** The engine version recorded in every event's metadata. Kept equal to package.json's. */
export const ENGINE_VERSION = '0.1.0';
