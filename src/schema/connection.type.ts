import { Field, ObjectType } from "type-graphql";
import { ChargingSession } from "./charging-session.type.js";

@ObjectType()
export class PageInfo {
  @Field(() => Boolean)
  hasNextPage!: boolean;

  @Field(() => String, { nullable: true })
  endCursor!: string | null;
}

@ObjectType()
export class ChargingSessionEdge {
  @Field(() => String)
  cursor!: string;

  @Field(() => ChargingSession)
  node!: ChargingSession;
}

@ObjectType({ description: "The driver's sessions, newest first." })
export class ChargingSessionConnection {
  @Field(() => [ChargingSessionEdge])
  edges!: ChargingSessionEdge[];

  @Field(() => [ChargingSession])
  nodes!: ChargingSession[];

  @Field(() => PageInfo)
  pageInfo!: PageInfo;
}
