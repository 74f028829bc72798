// The simulated charge points. Each EvseID encodes the answer it provokes (the number after
// "E" is the OICP status code it produces, docs/oicp.md#status-codes), so a tester can pick an outcome by name.
// All ids match EVSE_ID (docs/oicp.md#identifiers) under the invented operator DE*SIM.

export type SimulatedBehaviour =
  | "accepts"
  | "slow"
  | "offline"
  | "busy"
  | "no-contract"
  | "cpo-timeout"
  | "out-of-service"
  | "connector-error";

export interface SimulatedEvse {
  evseId: string;
  behaviour: SimulatedBehaviour;
  label: string;
  /** What the EVSE can deliver; the car (SimulatorPace.powerKw) may take less. */
  powerKw: number;
}

export const SIMULATED_OPERATOR_ID = "DE*SIM";

export const SIMULATED_EVSES: readonly SimulatedEvse[] = Object.freeze([
  { evseId: "DE*SIM*E0001*1", behaviour: "accepts", label: "Marktplatz 1, AC 11 kW", powerKw: 11 },
  { evseId: "DE*SIM*E0001*2", behaviour: "accepts", label: "Marktplatz 2, AC 11 kW", powerKw: 11 },
  { evseId: "DE*SIM*E0001*3", behaviour: "accepts", label: "Bahnhof, AC 22 kW", powerKw: 22 },
  { evseId: "DE*SIM*E0001*4", behaviour: "accepts", label: "Autobahn, DC 150 kW", powerKw: 150 },
  { evseId: "DE*SIM*E0002*1", behaviour: "slow", label: "Slow charger (answers late, then accepts)", powerKw: 22 },
  { evseId: "DE*SIM*E0002*2", behaviour: "slow", label: "Slow charger 2 (answers late, then accepts)", powerKw: 22 },
  { evseId: "DE*SIM*E0501*1", behaviour: "offline", label: "Offline charger (501)", powerKw: 11 },
  { evseId: "DE*SIM*E0602*1", behaviour: "busy", label: "Busy charger (602)", powerKw: 11 },
  { evseId: "DE*SIM*E0210*1", behaviour: "no-contract", label: "CPO without contract (210)", powerKw: 11 },
  { evseId: "DE*SIM*E0310*1", behaviour: "cpo-timeout", label: "CPO times out (310), then charges anyway", powerKw: 11 },
  { evseId: "DE*SIM*E0700*1", behaviour: "out-of-service", label: "Out of service (700)", powerKw: 11 },
  { evseId: "DE*SIM*E0ERR*1", behaviour: "connector-error", label: "Accepts, then ConnectorError", powerKw: 11 },
]);

/** EvseIDs compare case-insensitively (docs/oicp.md#e11). */
export function findSimulatedEvse(evseId: string): SimulatedEvse | undefined {
  const wanted = evseId.toUpperCase();
  return SIMULATED_EVSES.find((evse) => evse.evseId.toUpperCase() === wanted);
}
