/**
 * The one datasource every dashboard and alert rule refers to, by a fixed uid. InfluxQL mode
 * works against InfluxDB 1.8+ and 2.x/3.x (v1 compatibility API with a DBRP mapping): the token
 * goes in an `Authorization: Token ...` header, which 2.x takes as a token and 1.8 (auth
 * enabled) takes as `Token user:password`. Everything site-specific comes from `${VAR}`
 * environment variables that Grafana expands when it reads the provisioning file.
 */
export const DATASOURCE_UID = 'fleetpulse-influxdb';
export const DATASOURCE_TYPE = 'influxdb';
export const datasourceRef = { type: DATASOURCE_TYPE, uid: DATASOURCE_UID } as const;

/**
 * Grafana's own minimum interval for this datasource (`jsonData.timeInterval`), ms: the runtime writes at most every 10
 * s.
 */
export const MIN_INTERVAL_MS = 10_000;

export function datasourceProvisioning(): Record<string, unknown> {
  return {
    apiVersion: 1,
    deleteDatasources: [],
    datasources: [
      {
        name: 'Fleetpulse InfluxDB',
        uid: DATASOURCE_UID,
        type: DATASOURCE_TYPE,
        access: 'proxy',
        url: '${INFLUX_URL}',
        isDefault: true,
        editable: false,
        jsonData: {
          version: 'InfluxQL',
          dbName: '${INFLUX_DATABASE}',
          httpMode: 'POST',
          timeInterval: '10s',
          httpHeaderName1: 'Authorization',
        },
        secureJsonData: {
          httpHeaderValue1: 'Token ${INFLUX_TOKEN}',
        },
      },
    ],
  };
}
