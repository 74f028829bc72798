import { Directive, Field, ID, ObjectType } from "type-graphql";

/**
 * The driver as the accounts subgraph owns it (name, e-mail, … live there). This subgraph only
 * contributes `chargingSessions` (resolvers/driver.resolver.ts); the router hands us a
 * `{ __typename: "Driver", id }` reference and the default reference resolver keeps it as is.
 * The id is the token's `sub`, the same id this gateway stores as a session's driverId.
 */
@ObjectType("Driver", { description: "A driver. Owned by the accounts subgraph; this subgraph adds their charging sessions." })
@Directive('@key(fields: "id")')
export class DriverEntity {
  @Field(() => ID, { description: "The driver's account id (the access token's `sub`)." })
  id!: string;
}
