// wire_node.js - one operation of the Node.js Confluent client
// (@kafkajs/confluent-schema-registry, which serializes with avsc) against a
// registry, for test_wire_clients.py:
//
//   node wire_node.js URL OP JSON
//
//   register {subject, schema, references?}  -> {"id": N}
//   encode   {id, payload}                   -> {"hex": "00..."}  (Confluent wire format)
//   decode   {hex, reader?}                  -> {"value": ...}   (reader: schema text)
//
// Each run starts with an empty client cache, so decode reads the writer's
// schema (and its references) from the registry by id.  The result is one
// JSON line on stdout; a failure prints {"error": ...} and exits 1.
'use strict';

const { SchemaRegistry, SchemaType } = require('@kafkajs/confluent-schema-registry');

async function main() {
    const [url, op, arg] = process.argv.slice(2);
    const a = JSON.parse(arg);
    const registry = new SchemaRegistry({ host: url, retry: { retries: 0 } });

    if (op === 'register') {
        const schema = { type: SchemaType.AVRO, schema: a.schema };
        if (a.references)
            schema.references = a.references;
        const { id } = await registry.register(schema, { subject: a.subject });
        return { id };
    }
    if (op === 'encode') {
        const buf = await registry.encode(a.id, a.payload);
        return { hex: buf.toString('hex') };
    }
    if (op === 'decode') {
        const opts = a.reader ? { [SchemaType.AVRO]: { readerSchema: JSON.parse(a.reader) } }
                              : undefined;
        const value = await registry.decode(Buffer.from(a.hex, 'hex'), opts);
        return { value };
    }
    throw new Error('unknown operation ' + op);
}

main().then(
    (out) => {
        process.stdout.write(JSON.stringify(out) + '\n');
    },
    (e) => {
        process.stdout.write(JSON.stringify({ error: String(e && e.message ? e.message : e),
                                              status: e && e.status }) + '\n');
        process.exit(1);
    });
