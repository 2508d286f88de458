import type { Point } from '../points.js';
import { meterModel } from './device.js';
import { STATUS_OFFLINE, STATUS_ONLINE, subtopics, topicId, type MqttMessage } from './topics.js';

/** How Home Assistant shows one quantity: the classes its Energy dashboard and statistics go by. */
interface SensorClass {
  name: string;
  device_class?: 'energy' | 'power' | 'voltage' | 'current' | 'gas' | 'water';
  state_class?: 'measurement' | 'total_increasing';
  unit?: string;
  /** Counters of the meter's own health: shown apart from the readings. */
  diagnostic?: true;
}

const energy = (name: string): SensorClass => ({ name, device_class: 'energy', state_class: 'total_increasing', unit: 'kWh' });
const power = (name: string): SensorClass => ({ name, device_class: 'power', state_class: 'measurement', unit: 'kW' });
const count = (name: string): SensorClass => ({ name, state_class: 'total_increasing', diagnostic: true });

/**
 * The one table from the Points fields (and the M-Bus measurements) to Home Assistant's sensor classes and units,
 * as zigbee2mqtt builds its discovery from what a device exposes. The units are the Points table's: energy kWh and
 * power kW whatever the meter sends, gas and water m³, heat GJ.
 */
export const SENSOR_CLASSES: Readonly<Record<string, SensorClass>> = {
  import_total: energy('Energy import'),
  import_t1: energy('Energy import tariff 1'),
  import_t2: energy('Energy import tariff 2'),
  import_t3: energy('Energy import tariff 3'),
  import_t4: energy('Energy import tariff 4'),
  export_total: energy('Energy export'),
  export_t1: energy('Energy export tariff 1'),
  export_t2: energy('Energy export tariff 2'),
  export_t3: energy('Energy export tariff 3'),
  export_t4: energy('Energy export tariff 4'),
  power_import: power('Power import'),
  power_export: power('Power export'),
  tariff: { name: 'Tariff' },
  voltage_l1: { name: 'Voltage L1', device_class: 'voltage', state_class: 'measurement', unit: 'V' },
  voltage_l2: { name: 'Voltage L2', device_class: 'voltage', state_class: 'measurement', unit: 'V' },
  voltage_l3: { name: 'Voltage L3', device_class: 'voltage', state_class: 'measurement', unit: 'V' },
  current_l1: { name: 'Current L1', device_class: 'current', state_class: 'measurement', unit: 'A' },
  current_l2: { name: 'Current L2', device_class: 'current', state_class: 'measurement', unit: 'A' },
  current_l3: { name: 'Current L3', device_class: 'current', state_class: 'measurement', unit: 'A' },
  power_import_l1: power('Power import L1'),
  power_import_l2: power('Power import L2'),
  power_import_l3: power('Power import L3'),
  power_export_l1: power('Power export L1'),
  power_export_l2: power('Power export L2'),
  power_export_l3: power('Power export L3'),
  failures: count('Power failures'),
  long_failures: count('Long power failures'),
  sags_l1: count('Voltage sags L1'),
  sags_l2: count('Voltage sags L2'),
  sags_l3: count('Voltage sags L3'),
  swells_l1: count('Voltage swells L1'),
  swells_l2: count('Voltage swells L2'),
  swells_l3: count('Voltage swells L3'),
  demand_avg: power('Average demand'),
  demand_peak_month: power('Peak demand this month'),
  gas: { name: 'Gas consumption', device_class: 'gas', state_class: 'total_increasing', unit: 'm³' },
  water: { name: 'Water consumption', device_class: 'water', state_class: 'total_increasing', unit: 'm³' },
  heat: { name: 'Heat consumption', device_class: 'energy', state_class: 'total_increasing', unit: 'GJ' },
  mbus: { name: 'M-Bus reading', state_class: 'total_increasing' },
};

const DEVICE_NAMES: Readonly<Record<Point['measurement'], string>> = {
  electricity: 'Electricity meter',
  gas: 'Gas meter',
  water: 'Water meter',
  heat: 'Heat meter',
  mbus: 'M-Bus meter',
};

/** One sensor as announced: its config topic and what it reads. */
export interface Sensor {
  /** `<discovery prefix>/sensor/<node>/<object>/config`. */
  configTopic: string;
  /** The Points field (`import_t1`) or M-Bus subtopic (`gas`, `water_3`). */
  object: string;
  config: Record<string, unknown>;
}

export interface DiscoveryContext {
  /** `homeassistant` unless configured. */
  discoveryPrefix: string;
  /** The sink's topic prefix (`p1logger/<meter id>`). */
  prefix: string;
  statusTopic: string;
  /** p1logger's version, for `device.sw_version` and `origin`. */
  version: string;
}

/**
 * The Home Assistant sensors for exactly the quantities one telegram has (no L2/L3 on a single-phase meter): one
 * device for the electricity meter (manufacturer and model from the header), one per M-Bus device beside it,
 * each sensor with a stable unique_id from the meter's equipment id, availability on the status topic, and the
 * classes of SENSOR_CLASSES. Pure.
 */
export function sensorsOf(points: readonly Point[], raw: string, ctx: DiscoveryContext): Sensor[] {
  const electricity = points.find((p) => p.measurement === 'electricity');
  const node = `p1logger_${topicId(electricity?.tags.meter)}`;
  const { manufacturer, model } = meterModel(raw);
  const meterDevice = {
    identifiers: [node],
    name: DEVICE_NAMES.electricity,
    manufacturer,
    model,
    ...(electricity?.tags.meter === undefined ? {} : { serial_number: electricity.tags.meter }),
    sw_version: `p1logger ${ctx.version}`,
  };
  const names = subtopics(points);
  const sensors: Sensor[] = [];
  points.forEach((point, i) => {
    const topic = `${ctx.prefix}/${names[i]!}`;
    if (point.measurement === 'electricity') {
      for (const field of Object.keys(point.fields)) {
        const sensorClass = SENSOR_CLASSES[field];
        if (sensorClass !== undefined) sensors.push(sensor(ctx, node, field, topic, `value_json.${field}`, sensorClass, meterDevice));
      }
      return;
    }
    const object = names[i]!;
    const id = point.tags.meter === undefined ? `${node}_${object}` : `p1logger_${topicId(point.tags.meter)}`;
    const device = {
      identifiers: [id],
      name: DEVICE_NAMES[point.measurement],
      ...(point.tags.meter === undefined ? {} : { serial_number: point.tags.meter }),
      via_device: node,
    };
    const sensorClass = SENSOR_CLASSES[point.measurement]!;
    // The reading's own time (hourly or 5-minutely) and the channel as attributes beside the value.
    sensors.push(sensor(ctx, node, object, topic, 'value_json.value', sensorClass, device, { json_attributes_topic: topic }));
  });
  return sensors;
}

function sensor(
  ctx: DiscoveryContext,
  node: string,
  object: string,
  stateTopic: string,
  value: string,
  sensorClass: SensorClass,
  device: Record<string, unknown>,
  extra: Record<string, unknown> = {},
): Sensor {
  const config: Record<string, unknown> = {
    name: sensorClass.name,
    has_entity_name: true,
    unique_id: `${node}_${object}`,
    state_topic: stateTopic,
    value_template: `{{ ${value} }}`,
    ...(sensorClass.device_class === undefined ? {} : { device_class: sensorClass.device_class }),
    ...(sensorClass.state_class === undefined ? {} : { state_class: sensorClass.state_class }),
    ...(sensorClass.unit === undefined ? {} : { unit_of_measurement: sensorClass.unit }),
    ...(sensorClass.diagnostic === true ? { entity_category: 'diagnostic' } : {}),
    ...extra,
    availability_topic: ctx.statusTopic,
    payload_available: STATUS_ONLINE,
    payload_not_available: STATUS_OFFLINE,
    device,
    origin: { name: 'p1logger', sw_version: ctx.version },
  };
  return { configTopic: `${ctx.discoveryPrefix}/sensor/${node}/${object}/config`, object, config };
}

/** A sensor's config as a retained message. */
export function configMessage(sensor: Sensor): MqttMessage {
  return { topic: sensor.configTopic, payload: JSON.stringify(sensor.config), retain: true };
}

/** What removes an entity from Home Assistant: an empty retained config. */
export function removalMessage(configTopic: string): MqttMessage {
  return { topic: configTopic, payload: '', retain: true };
}
