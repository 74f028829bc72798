// graphql-js's printSchema drops applied directives, but type-graphql keeps @Directive(...) only
// in the types' and fields' astNode. Federation needs them (@key), so this prints the schema and
// puts them back on types and fields (arguments and enum values carry none here). Small on
// purpose: @graphql-tools/utils' printSchemaWithDirectives does the same but is not a dependency.
import {
  type ConstDirectiveNode,
  type DefinitionNode,
  type DocumentNode,
  type FieldDefinitionNode,
  type GraphQLSchema,
  type InputValueDefinitionNode,
  isInputObjectType,
  isInterfaceType,
  isObjectType,
  isTypeDefinitionNode,
  parse,
  print,
  printSchema,
} from "graphql";

type Described = { astNode?: { directives?: readonly ConstDirectiveNode[] } | null } | undefined;

export function printSchemaWithDirectives(schema: GraphQLSchema): DocumentNode {
  const document = parse(printSchema(schema));
  const definitions = document.definitions.map((definition): DefinitionNode => {
    if (!isTypeDefinitionNode(definition)) return definition;
    const type = schema.getType(definition.name.value);
    const typed = { ...definition, directives: merged(definition.directives, (type as Described)?.astNode?.directives) };
    if (!("fields" in typed) || !typed.fields || !(isObjectType(type) || isInterfaceType(type) || isInputObjectType(type))) return typed;
    const fields = type.getFields();
    const withFields = (typed.fields as ReadonlyArray<FieldDefinitionNode | InputValueDefinitionNode>).map((field) => ({
      ...field,
      directives: merged(field.directives, (fields[field.name.value] as Described)?.astNode?.directives),
    }));
    return { ...typed, fields: withFields } as DefinitionNode;
  });
  return { ...document, definitions };
}

/** printSchema's own directives (@deprecated, @specifiedBy) first, then the astNode ones it did not print. */
function merged(printed: readonly ConstDirectiveNode[] = [], extra: readonly ConstDirectiveNode[] = []): ConstDirectiveNode[] {
  const seen = new Set(printed.map((d) => print(d)));
  return [...printed, ...extra.filter((d) => !seen.has(print(d)))];
}
