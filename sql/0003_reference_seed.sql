-- Reference seed for a city shaped like Xi'an: channels, urgency classes, the jurisdiction tree
-- (the real districts, counties and development zones, several real streets and towns each,
-- a community per street for the demo), and handling units: governments, the main city
-- departments and public-service units, and the utility companies. District and county codes
-- are the national division codes; codes below them are this seed's own numbering. A city
-- loads its own reference data with plain INSERTs into the same tables.

INSERT INTO hotline.channels (code, name, online) VALUES
    ('phone', '电话', false), ('voice_message', '语音留言', false), ('web', '网站', true), ('app', '移动客户端', true),
    ('wechat', '微信', true), ('sms', '短信', true), ('email', '电子邮件', true), ('self_report', '社区自受理（扫一扫/随手拍/网格上报）', true);

INSERT INTO hotline.urgency_classes (code, name, accept_within, feedback_within, working_days, description) VALUES
    ('emergency', '紧急', interval '1 hour', interval '2 hours', false, 'emergencies, instability, risk to life or property; also pushed to 110/119 linkage'),
    ('basic_livelihood', '水电气热', interval '1 hour', interval '24 hours', false, 'water, power, gas and heating; dispatched directly to the utility company'),
    ('normal', '一般', interval '1 hour', interval '7 days', false, 'everything else'),
    ('complex', '疑难复杂', interval '1 hour', interval '15 days', false, 'hard, complex matters: feedback on next-step measures'),
    ('enterprise', '涉企', interval '1 hour', interval '7 days', false, 'company complaints; unreasonable or illegal ones get an explanation');

INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) VALUES ('610100', '西安市', 'city', NULL, '{西安}');

INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610102', '新城区', 'district', id, '{新城}' FROM hotline.jurisdictions WHERE code = '610100';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610102001', '西一路街道', 'street', id, '{西一路}' FROM hotline.jurisdictions WHERE code = '610102';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610102001001', '西一路社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610102001';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610102002', '长乐中路街道', 'street', id, '{长乐中路}' FROM hotline.jurisdictions WHERE code = '610102';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610102002001', '长乐中路社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610102002';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610102003', '中山门街道', 'street', id, '{中山门}' FROM hotline.jurisdictions WHERE code = '610102';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610102003001', '中山门社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610102003';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610102004', '韩森寨街道', 'street', id, '{韩森寨}' FROM hotline.jurisdictions WHERE code = '610102';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610102004001', '韩森寨社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610102004';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610102005', '解放门街道', 'street', id, '{解放门}' FROM hotline.jurisdictions WHERE code = '610102';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610102005001', '解放门社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610102005';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610102006', '自强路街道', 'street', id, '{自强路}' FROM hotline.jurisdictions WHERE code = '610102';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610102006001', '自强路社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610102006';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610102007', '太华路街道', 'street', id, '{太华路}' FROM hotline.jurisdictions WHERE code = '610102';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610102007001', '太华路社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610102007';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610102008', '长乐西路街道', 'street', id, '{长乐西路}' FROM hotline.jurisdictions WHERE code = '610102';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610102008001', '长乐西路社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610102008';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610102009', '胡家庙街道', 'street', id, '{胡家庙}' FROM hotline.jurisdictions WHERE code = '610102';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610102009001', '胡家庙社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610102009';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610103', '碑林区', 'district', id, '{碑林}' FROM hotline.jurisdictions WHERE code = '610100';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610103001', '南院门街道', 'street', id, '{南院门}' FROM hotline.jurisdictions WHERE code = '610103';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610103001001', '南院门社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610103001';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610103002', '柏树林街道', 'street', id, '{柏树林}' FROM hotline.jurisdictions WHERE code = '610103';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610103002001', '柏树林社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610103002';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610103003', '长乐坊街道', 'street', id, '{长乐坊}' FROM hotline.jurisdictions WHERE code = '610103';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610103003001', '长乐坊社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610103003';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610103004', '东关南街街道', 'street', id, '{东关南街}' FROM hotline.jurisdictions WHERE code = '610103';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610103004001', '东关南街社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610103004';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610103005', '太乙路街道', 'street', id, '{太乙路}' FROM hotline.jurisdictions WHERE code = '610103';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610103005001', '太乙路社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610103005';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610103006', '文艺路街道', 'street', id, '{文艺路}' FROM hotline.jurisdictions WHERE code = '610103';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610103006001', '文艺路社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610103006';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610103007', '长安路街道', 'street', id, '{长安路}' FROM hotline.jurisdictions WHERE code = '610103';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610103007001', '长安路社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610103007';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610103008', '张家村街道', 'street', id, '{张家村}' FROM hotline.jurisdictions WHERE code = '610103';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610103008001', '张家村社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610103008';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610104', '莲湖区', 'district', id, '{莲湖}' FROM hotline.jurisdictions WHERE code = '610100';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610104001', '北院门街道', 'street', id, '{北院门}' FROM hotline.jurisdictions WHERE code = '610104';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610104001001', '北院门社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610104001';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610104002', '青年路街道', 'street', id, '{青年路}' FROM hotline.jurisdictions WHERE code = '610104';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610104002001', '青年路社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610104002';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610104003', '桃园路街道', 'street', id, '{桃园路}' FROM hotline.jurisdictions WHERE code = '610104';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610104003001', '桃园路社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610104003';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610104004', '土门街道', 'street', id, '{土门}' FROM hotline.jurisdictions WHERE code = '610104';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610104004001', '土门社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610104004';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610104005', '红庙坡街道', 'street', id, '{红庙坡}' FROM hotline.jurisdictions WHERE code = '610104';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610104005001', '红庙坡社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610104005';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610104006', '环城西路街道', 'street', id, '{环城西路}' FROM hotline.jurisdictions WHERE code = '610104';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610104006001', '环城西路社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610104006';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610104007', '西关街道', 'street', id, '{西关}' FROM hotline.jurisdictions WHERE code = '610104';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610104007001', '西关社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610104007';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610104008', '枣园街道', 'street', id, '{枣园}' FROM hotline.jurisdictions WHERE code = '610104';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610104008001', '枣园社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610104008';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610104009', '北关街道', 'street', id, '{北关}' FROM hotline.jurisdictions WHERE code = '610104';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610104009001', '北关社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610104009';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610111', '灞桥区', 'district', id, '{灞桥}' FROM hotline.jurisdictions WHERE code = '610100';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610111001', '纺织城街道', 'street', id, '{纺织城}' FROM hotline.jurisdictions WHERE code = '610111';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610111001001', '纺织城社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610111001';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610111002', '十里铺街道', 'street', id, '{十里铺}' FROM hotline.jurisdictions WHERE code = '610111';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610111002001', '十里铺社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610111002';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610111003', '红旗街道', 'street', id, '{红旗}' FROM hotline.jurisdictions WHERE code = '610111';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610111003001', '红旗社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610111003';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610111004', '席王街道', 'street', id, '{席王}' FROM hotline.jurisdictions WHERE code = '610111';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610111004001', '席王社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610111004';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610111005', '洪庆街道', 'street', id, '{洪庆}' FROM hotline.jurisdictions WHERE code = '610111';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610111005001', '洪庆社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610111005';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610111006', '狄寨街道', 'street', id, '{狄寨}' FROM hotline.jurisdictions WHERE code = '610111';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610111006001', '狄寨社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610111006';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610111007', '新筑街道', 'street', id, '{新筑}' FROM hotline.jurisdictions WHERE code = '610111';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610111007001', '新筑社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610111007';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610111008', '新合街道', 'street', id, '{新合}' FROM hotline.jurisdictions WHERE code = '610111';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610111008001', '新合社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610111008';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610112', '未央区', 'district', id, '{未央}' FROM hotline.jurisdictions WHERE code = '610100';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610112001', '张家堡街道', 'street', id, '{张家堡}' FROM hotline.jurisdictions WHERE code = '610112';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610112001001', '张家堡社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610112001';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610112002', '未央宫街道', 'street', id, '{未央宫}' FROM hotline.jurisdictions WHERE code = '610112';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610112002001', '未央宫社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610112002';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610112003', '大明宫街道', 'street', id, '{大明宫}' FROM hotline.jurisdictions WHERE code = '610112';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610112003001', '大明宫社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610112003';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610112004', '谭家街道', 'street', id, '{谭家}' FROM hotline.jurisdictions WHERE code = '610112';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610112004001', '谭家社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610112004';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610112005', '草滩街道', 'street', id, '{草滩}' FROM hotline.jurisdictions WHERE code = '610112';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610112005001', '草滩社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610112005';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610112006', '六村堡街道', 'street', id, '{六村堡}' FROM hotline.jurisdictions WHERE code = '610112';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610112006001', '六村堡社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610112006';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610112007', '汉城街道', 'street', id, '{汉城}' FROM hotline.jurisdictions WHERE code = '610112';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610112007001', '汉城社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610112007';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610112008', '徐家湾街道', 'street', id, '{徐家湾}' FROM hotline.jurisdictions WHERE code = '610112';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610112008001', '徐家湾社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610112008';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610112009', '辛家庙街道', 'street', id, '{辛家庙}' FROM hotline.jurisdictions WHERE code = '610112';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610112009001', '辛家庙社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610112009';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610113', '雁塔区', 'district', id, '{雁塔}' FROM hotline.jurisdictions WHERE code = '610100';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610113001', '小寨路街道', 'street', id, '{小寨路}' FROM hotline.jurisdictions WHERE code = '610113';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610113001001', '小寨路社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610113001';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610113002', '大雁塔街道', 'street', id, '{大雁塔}' FROM hotline.jurisdictions WHERE code = '610113';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610113002001', '大雁塔社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610113002';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610113003', '长延堡街道', 'street', id, '{长延堡}' FROM hotline.jurisdictions WHERE code = '610113';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610113003001', '长延堡社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610113003';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610113004', '电子城街道', 'street', id, '{电子城}' FROM hotline.jurisdictions WHERE code = '610113';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610113004001', '电子城社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610113004';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610113005', '等驾坡街道', 'street', id, '{等驾坡}' FROM hotline.jurisdictions WHERE code = '610113';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610113005001', '等驾坡社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610113005';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610113006', '鱼化寨街道', 'street', id, '{鱼化寨}' FROM hotline.jurisdictions WHERE code = '610113';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610113006001', '鱼化寨社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610113006';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610113007', '丈八沟街道', 'street', id, '{丈八沟}' FROM hotline.jurisdictions WHERE code = '610113';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610113007001', '丈八沟社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610113007';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610113008', '曲江街道', 'street', id, '{曲江}' FROM hotline.jurisdictions WHERE code = '610113';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610113008001', '曲江社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610113008';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610114', '阎良区', 'district', id, '{阎良}' FROM hotline.jurisdictions WHERE code = '610100';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610114001', '凤凰路街道', 'street', id, '{凤凰路}' FROM hotline.jurisdictions WHERE code = '610114';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610114001001', '凤凰路社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610114001';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610114002', '新华路街道', 'street', id, '{新华路}' FROM hotline.jurisdictions WHERE code = '610114';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610114002001', '新华路社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610114002';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610114003', '振兴街道', 'street', id, '{振兴}' FROM hotline.jurisdictions WHERE code = '610114';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610114003001', '振兴社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610114003';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610114004', '新兴街道', 'street', id, '{新兴}' FROM hotline.jurisdictions WHERE code = '610114';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610114004001', '新兴社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610114004';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610114005', '北屯街道', 'street', id, '{北屯}' FROM hotline.jurisdictions WHERE code = '610114';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610114005001', '北屯社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610114005';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610115', '临潼区', 'district', id, '{临潼}' FROM hotline.jurisdictions WHERE code = '610100';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610115001', '骊山街道', 'street', id, '{骊山}' FROM hotline.jurisdictions WHERE code = '610115';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610115001001', '骊山社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610115001';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610115002', '秦陵街道', 'street', id, '{秦陵}' FROM hotline.jurisdictions WHERE code = '610115';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610115002001', '秦陵社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610115002';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610115003', '新丰街道', 'street', id, '{新丰}' FROM hotline.jurisdictions WHERE code = '610115';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610115003001', '新丰社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610115003';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610115004', '代王街道', 'street', id, '{代王}' FROM hotline.jurisdictions WHERE code = '610115';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610115004001', '代王社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610115004';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610115005', '斜口街道', 'street', id, '{斜口}' FROM hotline.jurisdictions WHERE code = '610115';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610115005001', '斜口社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610115005';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610116', '长安区', 'district', id, '{长安}' FROM hotline.jurisdictions WHERE code = '610100';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610116001', '韦曲街道', 'street', id, '{韦曲}' FROM hotline.jurisdictions WHERE code = '610116';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610116001001', '韦曲社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610116001';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610116002', '郭杜街道', 'street', id, '{郭杜}' FROM hotline.jurisdictions WHERE code = '610116';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610116002001', '郭杜社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610116002';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610116003', '滦镇街道', 'street', id, '{滦镇}' FROM hotline.jurisdictions WHERE code = '610116';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610116003001', '滦镇社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610116003';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610116004', '子午街道', 'street', id, '{子午}' FROM hotline.jurisdictions WHERE code = '610116';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610116004001', '子午社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610116004';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610116005', '王曲街道', 'street', id, '{王曲}' FROM hotline.jurisdictions WHERE code = '610116';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610116005001', '王曲社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610116005';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610116006', '大兆街道', 'street', id, '{大兆}' FROM hotline.jurisdictions WHERE code = '610116';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610116006001', '大兆社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610116006';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610116007', '杜曲街道', 'street', id, '{杜曲}' FROM hotline.jurisdictions WHERE code = '610116';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610116007001', '杜曲社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610116007';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610117', '高陵区', 'district', id, '{高陵}' FROM hotline.jurisdictions WHERE code = '610100';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610117001', '鹿苑街道', 'street', id, '{鹿苑}' FROM hotline.jurisdictions WHERE code = '610117';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610117001001', '鹿苑社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610117001';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610117002', '泾渭街道', 'street', id, '{泾渭}' FROM hotline.jurisdictions WHERE code = '610117';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610117002001', '泾渭社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610117002';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610117003', '崇皇街道', 'street', id, '{崇皇}' FROM hotline.jurisdictions WHERE code = '610117';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610117003001', '崇皇社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610117003';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610117004', '姬家街道', 'street', id, '{姬家}' FROM hotline.jurisdictions WHERE code = '610117';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610117004001', '姬家社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610117004';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610117005', '通远街道', 'street', id, '{通远}' FROM hotline.jurisdictions WHERE code = '610117';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610117005001', '通远社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610117005';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610118', '鄠邑区', 'district', id, '{鄠邑,户县}' FROM hotline.jurisdictions WHERE code = '610100';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610118001', '甘亭街道', 'street', id, '{甘亭}' FROM hotline.jurisdictions WHERE code = '610118';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610118001001', '甘亭社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610118001';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610118002', '余下街道', 'street', id, '{余下}' FROM hotline.jurisdictions WHERE code = '610118';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610118002001', '余下社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610118002';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610118003', '玉蝉街道', 'street', id, '{玉蝉}' FROM hotline.jurisdictions WHERE code = '610118';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610118003001', '玉蝉社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610118003';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610118004', '五竹街道', 'street', id, '{五竹}' FROM hotline.jurisdictions WHERE code = '610118';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610118004001', '五竹社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610118004';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610118005', '秦渡镇', 'town', id, '{秦渡}' FROM hotline.jurisdictions WHERE code = '610118';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610118005001', '秦渡社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610118005';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610122', '蓝田县', 'county', id, '{蓝田}' FROM hotline.jurisdictions WHERE code = '610100';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610122001', '蓝关街道', 'street', id, '{蓝关}' FROM hotline.jurisdictions WHERE code = '610122';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610122001001', '蓝关社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610122001';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610122002', '洩湖镇', 'town', id, '{洩湖}' FROM hotline.jurisdictions WHERE code = '610122';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610122002001', '洩湖社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610122002';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610122003', '华胥镇', 'town', id, '{华胥}' FROM hotline.jurisdictions WHERE code = '610122';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610122003001', '华胥社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610122003';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610122004', '汤峪镇', 'town', id, '{汤峪}' FROM hotline.jurisdictions WHERE code = '610122';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610122004001', '汤峪社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610122004';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610122005', '玉山镇', 'town', id, '{玉山}' FROM hotline.jurisdictions WHERE code = '610122';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610122005001', '玉山社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610122005';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610124', '周至县', 'county', id, '{周至}' FROM hotline.jurisdictions WHERE code = '610100';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610124001', '二曲街道', 'street', id, '{二曲}' FROM hotline.jurisdictions WHERE code = '610124';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610124001001', '二曲社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610124001';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610124002', '哑柏镇', 'town', id, '{哑柏}' FROM hotline.jurisdictions WHERE code = '610124';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610124002001', '哑柏社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610124002';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610124003', '终南镇', 'town', id, '{终南}' FROM hotline.jurisdictions WHERE code = '610124';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610124003001', '终南社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610124003';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610124004', '楼观镇', 'town', id, '{楼观}' FROM hotline.jurisdictions WHERE code = '610124';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610124004001', '楼观社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610124004';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610124005', '尚村镇', 'town', id, '{尚村}' FROM hotline.jurisdictions WHERE code = '610124';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT '610124005001', '尚村社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = '610124005';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT 'XA-GX', '西安高新技术产业开发区', 'development_zone', id, '{高新区,高新,西安高新区}' FROM hotline.jurisdictions WHERE code = '610100';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT 'XA-GX001', '丈八街道', 'street', id, '{丈八}' FROM hotline.jurisdictions WHERE code = 'XA-GX';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT 'XA-GX001001', '丈八社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = 'XA-GX001';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT 'XA-GX002', '鱼化寨街道', 'street', id, '{鱼化寨街道,鱼化寨}' FROM hotline.jurisdictions WHERE code = 'XA-GX';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT 'XA-GX002001', '鱼化寨社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = 'XA-GX002';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT 'XA-GX003', '细柳街道', 'street', id, '{细柳}' FROM hotline.jurisdictions WHERE code = 'XA-GX';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT 'XA-GX003001', '细柳社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = 'XA-GX003';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT 'XA-GX004', '兴隆街道', 'street', id, '{兴隆}' FROM hotline.jurisdictions WHERE code = 'XA-GX';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT 'XA-GX004001', '兴隆社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = 'XA-GX004';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT 'XA-GX005', '东大街道', 'street', id, '{东大}' FROM hotline.jurisdictions WHERE code = 'XA-GX';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT 'XA-GX005001', '东大社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = 'XA-GX005';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT 'XA-JK', '西安经济技术开发区', 'development_zone', id, '{经开区,经开,西安经开区,经济开发区}' FROM hotline.jurisdictions WHERE code = '610100';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT 'XA-JK001', '张家堡街道', 'street', id, '{张家堡街道,张家堡}' FROM hotline.jurisdictions WHERE code = 'XA-JK';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT 'XA-JK001001', '张家堡社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = 'XA-JK001';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT 'XA-JK002', '草滩街道', 'street', id, '{草滩街道,草滩}' FROM hotline.jurisdictions WHERE code = 'XA-JK';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT 'XA-JK002001', '草滩社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = 'XA-JK002';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT 'XA-JK003', '凤城街道', 'street', id, '{凤城}' FROM hotline.jurisdictions WHERE code = 'XA-JK';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT 'XA-JK003001', '凤城社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = 'XA-JK003';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT 'XA-QJ', '曲江新区', 'development_zone', id, '{曲江,曲江新区管委会}' FROM hotline.jurisdictions WHERE code = '610100';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT 'XA-QJ001', '曲江街道', 'street', id, '{曲江街道,曲江}' FROM hotline.jurisdictions WHERE code = 'XA-QJ';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT 'XA-QJ001001', '曲江社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = 'XA-QJ001';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT 'XA-QJ002', '雁南街道', 'street', id, '{雁南}' FROM hotline.jurisdictions WHERE code = 'XA-QJ';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT 'XA-QJ002001', '雁南社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = 'XA-QJ002';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT 'XA-CB', '西安浐灞生态区', 'development_zone', id, '{浐灞,浐灞生态区,浐灞国际港}' FROM hotline.jurisdictions WHERE code = '610100';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT 'XA-CB001', '雁鸣湖街道', 'street', id, '{雁鸣湖}' FROM hotline.jurisdictions WHERE code = 'XA-CB';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT 'XA-CB001001', '雁鸣湖社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = 'XA-CB001';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT 'XA-CB002', '广运潭街道', 'street', id, '{广运潭}' FROM hotline.jurisdictions WHERE code = 'XA-CB';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT 'XA-CB002001', '广运潭社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = 'XA-CB002';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT 'XA-CB003', '浐灞街道', 'street', id, '{浐灞}' FROM hotline.jurisdictions WHERE code = 'XA-CB';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT 'XA-CB003001', '浐灞社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = 'XA-CB003';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT 'XA-GW', '西安国际港务区', 'development_zone', id, '{港务区,国际港务区,陆港}' FROM hotline.jurisdictions WHERE code = '610100';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT 'XA-GW001', '新筑街道', 'street', id, '{新筑街道,新筑}' FROM hotline.jurisdictions WHERE code = 'XA-GW';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT 'XA-GW001001', '新筑社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = 'XA-GW001';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT 'XA-GW002', '新合街道', 'street', id, '{新合街道,新合}' FROM hotline.jurisdictions WHERE code = 'XA-GW';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT 'XA-GW002001', '新合社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = 'XA-GW002';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT 'XA-HT', '西安航天基地', 'development_zone', id, '{航天基地,航天城}' FROM hotline.jurisdictions WHERE code = '610100';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT 'XA-HT001', '东长安街街道', 'street', id, '{东长安街}' FROM hotline.jurisdictions WHERE code = 'XA-HT';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT 'XA-HT001001', '东长安街社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = 'XA-HT001';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT 'XA-HT002', '韦曲街道', 'street', id, '{韦曲街道,韦曲}' FROM hotline.jurisdictions WHERE code = 'XA-HT';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT 'XA-HT002001', '韦曲社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = 'XA-HT002';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT 'XA-HK', '西安航空基地', 'development_zone', id, '{航空基地,航空城}' FROM hotline.jurisdictions WHERE code = '610100';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT 'XA-HK001', '凤凰路街道', 'street', id, '{凤凰路街道,凤凰路}' FROM hotline.jurisdictions WHERE code = 'XA-HK';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT 'XA-HK001001', '凤凰路社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = 'XA-HK001';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT 'XA-HK002', '新兴街道', 'street', id, '{新兴街道,新兴}' FROM hotline.jurisdictions WHERE code = 'XA-HK';
INSERT INTO hotline.jurisdictions (code, name, level, parent_id, aliases) SELECT 'XA-HK002001', '新兴社区', 'community', id, '{}' FROM hotline.jurisdictions WHERE code = 'XA-HK002';

INSERT INTO hotline.handling_units (code, name, level, kind, jurisdiction_id, contacts)
SELECT u.code, u.name, u.level, u.kind, j.id, jsonb_build_array(jsonb_build_object('role', '值班', 'name', u.name || '值班室', 'phone', '1380000' || lpad((row_number() OVER ())::text, 4, '0')))
  FROM (VALUES
    ('610100-GOV', '西安市人民政府', 'city', 'government', '610100'),
    ('XA-CGJ', '西安市城市管理和综合执法局', 'city', 'department', '610100'),
    ('XA-ZJJ', '西安市住房和城乡建设局', 'city', 'department', '610100'),
    ('XA-SJJ', '西安市市场监督管理局', 'city', 'department', '610100'),
    ('XA-STHJ', '西安市生态环境局', 'city', 'department', '610100'),
    ('XA-JTJ', '西安市交通运输局', 'city', 'department', '610100'),
    ('XA-GAJ', '西安市公安局', 'city', 'department', '610100'),
    ('XA-RSJ', '西安市人力资源和社会保障局', 'city', 'department', '610100'),
    ('XA-JYJ', '西安市教育局', 'city', 'department', '610100'),
    ('XA-WJW', '西安市卫生健康委员会', 'city', 'department', '610100'),
    ('XA-ZRZY', '西安市自然资源和规划局', 'city', 'department', '610100'),
    ('XA-SWJ', '西安市水务局', 'city', 'department', '610100'),
    ('XA-MZJ', '西安市民政局', 'city', 'department', '610100'),
    ('XA-YJJ', '西安市应急管理局', 'city', 'department', '610100'),
    ('XA-WLJ', '西安市文化和旅游局', 'city', 'department', '610100'),
    ('XA-NYJ', '西安市农业农村局', 'city', 'department', '610100'),
    ('XA-SJZ', '西安市数据局（12345热线）', 'city', 'department', '610100'),
    ('XA-JW', '中共西安市纪律检查委员会', 'city', 'department', '610100'),
    ('XA-GJ', '西安市公交集团', 'city', 'public_service', '610100'),
    ('XA-DT', '西安市轨道交通集团', 'city', 'public_service', '610100'),
    ('XA-WATER', '西安水务（集团）有限责任公司', 'city', 'utility', '610100'),
    ('XA-POWER', '国网西安供电公司', 'city', 'utility', '610100'),
    ('XA-GAS', '西安秦华天然气有限公司', 'city', 'utility', '610100'),
    ('XA-HEAT', '西安市热力集团有限责任公司', 'city', 'utility', '610100'),
    ('610102-GOV', '新城区人民政府', 'district', 'government', '610102'),
    ('610102001-GOV', '西一路街道办事处', 'street', 'government', '610102001'),
    ('610102002-GOV', '长乐中路街道办事处', 'street', 'government', '610102002'),
    ('610102003-GOV', '中山门街道办事处', 'street', 'government', '610102003'),
    ('610102004-GOV', '韩森寨街道办事处', 'street', 'government', '610102004'),
    ('610102005-GOV', '解放门街道办事处', 'street', 'government', '610102005'),
    ('610102006-GOV', '自强路街道办事处', 'street', 'government', '610102006'),
    ('610102007-GOV', '太华路街道办事处', 'street', 'government', '610102007'),
    ('610102008-GOV', '长乐西路街道办事处', 'street', 'government', '610102008'),
    ('610102009-GOV', '胡家庙街道办事处', 'street', 'government', '610102009'),
    ('610103-GOV', '碑林区人民政府', 'district', 'government', '610103'),
    ('610103001-GOV', '南院门街道办事处', 'street', 'government', '610103001'),
    ('610103002-GOV', '柏树林街道办事处', 'street', 'government', '610103002'),
    ('610103003-GOV', '长乐坊街道办事处', 'street', 'government', '610103003'),
    ('610103004-GOV', '东关南街街道办事处', 'street', 'government', '610103004'),
    ('610103005-GOV', '太乙路街道办事处', 'street', 'government', '610103005'),
    ('610103006-GOV', '文艺路街道办事处', 'street', 'government', '610103006'),
    ('610103007-GOV', '长安路街道办事处', 'street', 'government', '610103007'),
    ('610103008-GOV', '张家村街道办事处', 'street', 'government', '610103008'),
    ('610104-GOV', '莲湖区人民政府', 'district', 'government', '610104'),
    ('610104001-GOV', '北院门街道办事处', 'street', 'government', '610104001'),
    ('610104002-GOV', '青年路街道办事处', 'street', 'government', '610104002'),
    ('610104003-GOV', '桃园路街道办事处', 'street', 'government', '610104003'),
    ('610104004-GOV', '土门街道办事处', 'street', 'government', '610104004'),
    ('610104005-GOV', '红庙坡街道办事处', 'street', 'government', '610104005'),
    ('610104006-GOV', '环城西路街道办事处', 'street', 'government', '610104006'),
    ('610104007-GOV', '西关街道办事处', 'street', 'government', '610104007'),
    ('610104008-GOV', '枣园街道办事处', 'street', 'government', '610104008'),
    ('610104009-GOV', '北关街道办事处', 'street', 'government', '610104009'),
    ('610111-GOV', '灞桥区人民政府', 'district', 'government', '610111'),
    ('610111001-GOV', '纺织城街道办事处', 'street', 'government', '610111001'),
    ('610111002-GOV', '十里铺街道办事处', 'street', 'government', '610111002'),
    ('610111003-GOV', '红旗街道办事处', 'street', 'government', '610111003'),
    ('610111004-GOV', '席王街道办事处', 'street', 'government', '610111004'),
    ('610111005-GOV', '洪庆街道办事处', 'street', 'government', '610111005'),
    ('610111006-GOV', '狄寨街道办事处', 'street', 'government', '610111006'),
    ('610111007-GOV', '新筑街道办事处', 'street', 'government', '610111007'),
    ('610111008-GOV', '新合街道办事处', 'street', 'government', '610111008'),
    ('610112-GOV', '未央区人民政府', 'district', 'government', '610112'),
    ('610112001-GOV', '张家堡街道办事处', 'street', 'government', '610112001'),
    ('610112002-GOV', '未央宫街道办事处', 'street', 'government', '610112002'),
    ('610112003-GOV', '大明宫街道办事处', 'street', 'government', '610112003'),
    ('610112004-GOV', '谭家街道办事处', 'street', 'government', '610112004'),
    ('610112005-GOV', '草滩街道办事处', 'street', 'government', '610112005'),
    ('610112006-GOV', '六村堡街道办事处', 'street', 'government', '610112006'),
    ('610112007-GOV', '汉城街道办事处', 'street', 'government', '610112007'),
    ('610112008-GOV', '徐家湾街道办事处', 'street', 'government', '610112008'),
    ('610112009-GOV', '辛家庙街道办事处', 'street', 'government', '610112009'),
    ('610113-GOV', '雁塔区人民政府', 'district', 'government', '610113'),
    ('610113001-GOV', '小寨路街道办事处', 'street', 'government', '610113001'),
    ('610113002-GOV', '大雁塔街道办事处', 'street', 'government', '610113002'),
    ('610113003-GOV', '长延堡街道办事处', 'street', 'government', '610113003'),
    ('610113004-GOV', '电子城街道办事处', 'street', 'government', '610113004'),
    ('610113005-GOV', '等驾坡街道办事处', 'street', 'government', '610113005'),
    ('610113006-GOV', '鱼化寨街道办事处', 'street', 'government', '610113006'),
    ('610113007-GOV', '丈八沟街道办事处', 'street', 'government', '610113007'),
    ('610113008-GOV', '曲江街道办事处', 'street', 'government', '610113008'),
    ('610114-GOV', '阎良区人民政府', 'district', 'government', '610114'),
    ('610114001-GOV', '凤凰路街道办事处', 'street', 'government', '610114001'),
    ('610114002-GOV', '新华路街道办事处', 'street', 'government', '610114002'),
    ('610114003-GOV', '振兴街道办事处', 'street', 'government', '610114003'),
    ('610114004-GOV', '新兴街道办事处', 'street', 'government', '610114004'),
    ('610114005-GOV', '北屯街道办事处', 'street', 'government', '610114005'),
    ('610115-GOV', '临潼区人民政府', 'district', 'government', '610115'),
    ('610115001-GOV', '骊山街道办事处', 'street', 'government', '610115001'),
    ('610115002-GOV', '秦陵街道办事处', 'street', 'government', '610115002'),
    ('610115003-GOV', '新丰街道办事处', 'street', 'government', '610115003'),
    ('610115004-GOV', '代王街道办事处', 'street', 'government', '610115004'),
    ('610115005-GOV', '斜口街道办事处', 'street', 'government', '610115005'),
    ('610116-GOV', '长安区人民政府', 'district', 'government', '610116'),
    ('610116001-GOV', '韦曲街道办事处', 'street', 'government', '610116001'),
    ('610116002-GOV', '郭杜街道办事处', 'street', 'government', '610116002'),
    ('610116003-GOV', '滦镇街道办事处', 'street', 'government', '610116003'),
    ('610116004-GOV', '子午街道办事处', 'street', 'government', '610116004'),
    ('610116005-GOV', '王曲街道办事处', 'street', 'government', '610116005'),
    ('610116006-GOV', '大兆街道办事处', 'street', 'government', '610116006'),
    ('610116007-GOV', '杜曲街道办事处', 'street', 'government', '610116007'),
    ('610117-GOV', '高陵区人民政府', 'district', 'government', '610117'),
    ('610117001-GOV', '鹿苑街道办事处', 'street', 'government', '610117001'),
    ('610117002-GOV', '泾渭街道办事处', 'street', 'government', '610117002'),
    ('610117003-GOV', '崇皇街道办事处', 'street', 'government', '610117003'),
    ('610117004-GOV', '姬家街道办事处', 'street', 'government', '610117004'),
    ('610117005-GOV', '通远街道办事处', 'street', 'government', '610117005'),
    ('610118-GOV', '鄠邑区人民政府', 'district', 'government', '610118'),
    ('610118001-GOV', '甘亭街道办事处', 'street', 'government', '610118001'),
    ('610118002-GOV', '余下街道办事处', 'street', 'government', '610118002'),
    ('610118003-GOV', '玉蝉街道办事处', 'street', 'government', '610118003'),
    ('610118004-GOV', '五竹街道办事处', 'street', 'government', '610118004'),
    ('610118005-GOV', '秦渡镇人民政府', 'street', 'government', '610118005'),
    ('610122-GOV', '蓝田县人民政府', 'district', 'government', '610122'),
    ('610122001-GOV', '蓝关街道办事处', 'street', 'government', '610122001'),
    ('610122002-GOV', '洩湖镇人民政府', 'street', 'government', '610122002'),
    ('610122003-GOV', '华胥镇人民政府', 'street', 'government', '610122003'),
    ('610122004-GOV', '汤峪镇人民政府', 'street', 'government', '610122004'),
    ('610122005-GOV', '玉山镇人民政府', 'street', 'government', '610122005'),
    ('610124-GOV', '周至县人民政府', 'district', 'government', '610124'),
    ('610124001-GOV', '二曲街道办事处', 'street', 'government', '610124001'),
    ('610124002-GOV', '哑柏镇人民政府', 'street', 'government', '610124002'),
    ('610124003-GOV', '终南镇人民政府', 'street', 'government', '610124003'),
    ('610124004-GOV', '楼观镇人民政府', 'street', 'government', '610124004'),
    ('610124005-GOV', '尚村镇人民政府', 'street', 'government', '610124005'),
    ('XA-GX-GOV', '西安高新技术产业开发区管理委员会', 'district', 'government', 'XA-GX'),
    ('XA-GX001-GOV', '丈八街道办事处', 'street', 'government', 'XA-GX001'),
    ('XA-GX002-GOV', '鱼化寨街道办事处', 'street', 'government', 'XA-GX002'),
    ('XA-GX003-GOV', '细柳街道办事处', 'street', 'government', 'XA-GX003'),
    ('XA-GX004-GOV', '兴隆街道办事处', 'street', 'government', 'XA-GX004'),
    ('XA-GX005-GOV', '东大街道办事处', 'street', 'government', 'XA-GX005'),
    ('XA-JK-GOV', '西安经济技术开发区管理委员会', 'district', 'government', 'XA-JK'),
    ('XA-JK001-GOV', '张家堡街道办事处', 'street', 'government', 'XA-JK001'),
    ('XA-JK002-GOV', '草滩街道办事处', 'street', 'government', 'XA-JK002'),
    ('XA-JK003-GOV', '凤城街道办事处', 'street', 'government', 'XA-JK003'),
    ('XA-QJ-GOV', '曲江新区管理委员会', 'district', 'government', 'XA-QJ'),
    ('XA-QJ001-GOV', '曲江街道办事处', 'street', 'government', 'XA-QJ001'),
    ('XA-QJ002-GOV', '雁南街道办事处', 'street', 'government', 'XA-QJ002'),
    ('XA-CB-GOV', '西安浐灞生态区管理委员会', 'district', 'government', 'XA-CB'),
    ('XA-CB001-GOV', '雁鸣湖街道办事处', 'street', 'government', 'XA-CB001'),
    ('XA-CB002-GOV', '广运潭街道办事处', 'street', 'government', 'XA-CB002'),
    ('XA-CB003-GOV', '浐灞街道办事处', 'street', 'government', 'XA-CB003'),
    ('XA-GW-GOV', '西安国际港务区管理委员会', 'district', 'government', 'XA-GW'),
    ('XA-GW001-GOV', '新筑街道办事处', 'street', 'government', 'XA-GW001'),
    ('XA-GW002-GOV', '新合街道办事处', 'street', 'government', 'XA-GW002'),
    ('XA-HT-GOV', '西安航天基地管理委员会', 'district', 'government', 'XA-HT'),
    ('XA-HT001-GOV', '东长安街街道办事处', 'street', 'government', 'XA-HT001'),
    ('XA-HT002-GOV', '韦曲街道办事处', 'street', 'government', 'XA-HT002'),
    ('XA-HK-GOV', '西安航空基地管理委员会', 'district', 'government', 'XA-HK'),
    ('XA-HK001-GOV', '凤凰路街道办事处', 'street', 'government', 'XA-HK001'),
    ('XA-HK002-GOV', '新兴街道办事处', 'street', 'government', 'XA-HK002')
  ) AS u(code, name, level, kind, jurisdiction)
  JOIN hotline.jurisdictions j ON j.code = u.jurisdiction;
