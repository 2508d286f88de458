import mqttPacket from 'mqtt-packet';
import { describe, expect, it } from 'vitest';
import { encodeTopic, publishSize, writePublish } from '../../src/sinks/mqtt/packets.js';

/** Topics and payloads around the edges of the encoding: lengths that need one to three length bytes, non-ASCII. */
const CASES = [
  { name: 'a short state message', topic: 'p1logger/E0043007/electricity', payload: '{"time":"2024-09-01T00:00:00.000Z","power":0.5}', retain: false },
  { name: 'retained, empty payload (an entity removed)', topic: 'homeassistant/sensor/E0043007/power/config', payload: '', retain: true },
  { name: 'remaining length 127 (one length byte)', topic: 't', payload: 'x'.repeat(127 - 3 - 2), retain: false },
  { name: 'remaining length 128 (two length bytes)', topic: 't', payload: 'x'.repeat(128 - 3 - 2), retain: false },
  { name: 'remaining length 16,384 (three length bytes)', topic: 'p1logger/m/gas', payload: 'y'.repeat(16_384 - 16 - 2), retain: false },
  { name: 'non-ASCII topic and payload (bytes, not characters)', topic: 'p1logger/zähler/wärme', payload: '{"unit":"m³","name":"Küche €"}', retain: true },
];

describe('QoS 1 PUBLISH packets, byte for byte as mqtt.js writes them', () => {
  for (const v5 of [false, true]) {
    for (const c of CASES) {
      it(`MQTT ${v5 ? '5' : '3.1.1'}: ${c.name}`, () => {
        const packetId = 4711;
        const expected = mqttPacket.generate(
          { cmd: 'publish', qos: 1, dup: false, retain: c.retain, topic: c.topic, payload: Buffer.from(c.payload, 'utf8'), messageId: packetId, ...(v5 ? { properties: {} } : {}) },
          { protocolVersion: v5 ? 5 : 4 },
        );
        const topic = encodeTopic(c.topic);
        const payloadBytes = Buffer.byteLength(c.payload, 'utf8');
        const size = publishSize(topic, payloadBytes, v5);
        // Written at an offset, after other bytes, as the publisher fills its chunks.
        const out = Buffer.alloc(size + 10, 0xee);
        const end = writePublish(out, 3, { topic, payload: c.payload, payloadBytes, retain: c.retain, packetId, v5 });
        expect(end - 3).toBe(size);
        expect(out.subarray(3, end).toString('hex')).toBe(expected.toString('hex'));
        expect(out[2]).toBe(0xee);
        expect(out[end]).toBe(0xee);
        // And mqtt.js's parser reads it back as the same message.
        const parser = mqttPacket.parser({ protocolVersion: v5 ? 5 : 4 });
        const parsed: mqttPacket.IPublishPacket[] = [];
        parser.on('packet', (packet) => parsed.push(packet as mqttPacket.IPublishPacket));
        parser.parse(out.subarray(3, end));
        expect(parsed).toHaveLength(1);
        expect(parsed[0]).toMatchObject({ cmd: 'publish', qos: 1, retain: c.retain, topic: c.topic, messageId: packetId });
        expect(parsed[0]!.payload.toString()).toBe(c.payload);
      });
    }
  }

  it('a topic longer than 65,535 bytes is refused, not cut', () => {
    expect(() => encodeTopic('x'.repeat(65_536))).toThrow(RangeError);
  });
});
