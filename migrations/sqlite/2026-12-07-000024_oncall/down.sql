DROP TABLE oncall_overrides;
ALTER TABLE queues DROP COLUMN oncall_rota_id;
DROP TABLE oncall_rotas;
