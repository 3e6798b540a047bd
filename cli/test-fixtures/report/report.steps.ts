// Steps of the report fixture (cli/html-report.test.ts): attach what real scenarios attach.
import { Given } from '@cucumber/cucumber';
import { attachSvg } from '../../../step-definitions/attachments.ts';
import { skip } from '../../../step-definitions/skip.ts';
import { attachInterceptionCell } from '../../../step-definitions/evidence.ts';
import { barChartSvg } from '../../../analysis/ladder-svg.ts';

Given('a chart is attached to the report', function () {
  attachSvg(this, barChartSvg('time to CONNACK', [{ label: 'full', ms: 152 }, { label: 'resumed', ms: 101 }]), 'chart.svg');
});

Given('the placement cannot realize this graph', function () {
  return skip(this, 'the containers placement cannot realize recipe "fixture": a fixture reason');
});

Given('the {string} client refused the {string} certificate', function (client: string, forgedCase: string) {
  attachInterceptionCell(this, { forgedCase, client, observed: 'blocked', reason: 'certificate verify failed: self-signed certificate', capture: 'scenarios/003-fixture/captures/victim-mitm.pcap' });
});
