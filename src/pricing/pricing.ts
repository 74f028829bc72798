// The EMP's prices at Hubject's EVSEs (docs/oicp.md#pricing): pricing products per operator
// (eRoamingPullPricingProductData) and which products each EVSE offers (eRoamingPullEVSEPricing).
// Money is an exact decimal string with its ISO 4217 currency, never a float.

export const REFERENCE_UNITS = ["HOUR", "KILOWATT_HOUR", "MINUTE"] as const;
export type ReferenceUnit = (typeof REFERENCE_UNITS)[number];

/** OICP's AdditionalReference values; an unknown one is kept verbatim (open enum). */
export type AdditionalReferenceKind = "START FEE" | "FIXED FEE" | "PARKING FEE" | "MINIMUM FEE" | "MAXIMUM FEE" | (string & {});

export interface AdditionalReference {
  kind: AdditionalReferenceKind;
  unit: ReferenceUnit;
  /** Exact decimal, in the product's currency. */
  pricePerUnit: string;
}

export interface AvailabilityTime {
  /** Everyday, Workdays, Weekend, Monday … Sunday. */
  on: string;
  periods: Array<{ begin: string; end: string }>;
}

/** One PricingProductDataRecord of one operator for one ProviderID (ours or "*", offered to all EMPs). */
export interface PricingProduct {
  operatorId: string;
  providerId: string;
  productId: string;
  referenceUnit: ReferenceUnit;
  pricePerReferenceUnit: string;
  currency: string;
  maximumPowerKw: string;
  isValid24Hours: boolean;
  availability: AvailabilityTime[];
  additionalReferences: AdditionalReference[];
}

/** The operator-level default (PricingDefaultPrice…): the price of a session without a product. */
export interface OperatorDefaultPrice {
  operatorId: string;
  operatorName: string | null;
  providerId: string;
  price: string;
  currency: string;
  referenceUnit: ReferenceUnit;
}

/** One operator's block of a PullPricingProductData answer. */
export interface OperatorPricing {
  defaults: OperatorDefaultPrice;
  products: PricingProduct[];
}

/** One EVSEPricing entry: the products an EVSE offers to a ProviderID. */
export interface EvseProducts {
  operatorId: string;
  evseId: string;
  providerId: string;
  productIds: string[];
}

export interface Money {
  amount: string;
  currency: string;
}

export const CURRENCY = /^[A-Z]{3}$/;
