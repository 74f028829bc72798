// The identifiers of the OICP example payloads (test/fixtures/oicp), used by the datasource tests.
export const PROVIDER = "DE-DCB";
export const EVSE = "DE*ABC*E1234*1";
export const EVCO = "DE-DCB-C12345678-X";
export const EMP_SESSION = "6b0e3c52-5d0f-4a57-9a4e-1f1e2b7c9d10";
export const HUBJECT_SESSION = "5c1a7e8e-3b8f-4f5a-9d2e-7a1b2c3d4e5f";
