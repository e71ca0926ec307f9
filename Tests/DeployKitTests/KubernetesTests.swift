import Foundation
import Testing

/// ops/k8s against the code: a Deployment per worker with its real port and probes, a grace
/// period that outlasts the drain, the settings the code reads, the migration Job, and the
/// optional monitoring and autoscaling components pointing at things that exist.
@Suite("DeployKit: Kubernetes manifests")
struct KubernetesTests {
    let facts = CodeFacts.shared
    let resources: [[String: Any]]

    init() throws {
        let kustomization = try Repo.yaml("ops/k8s/kustomization.yaml")
        var resources: [[String: Any]] = []
        for file in Doc.list(kustomization["resources"]).compactMap({ Doc.string($0) }) {
            resources += try Repo.yamlDocuments("ops/k8s/\(file)")
        }
        self.resources = resources
    }

    func objects(_ kind: String) -> [String: [String: Any]] {
        var found: [String: [String: Any]] = [:]
        for object in resources where Doc.string(object["kind"]) == kind {
            if let name = Doc.string(Doc.at(object, "metadata.name")) { found[name] = object }
        }
        return found
    }

    @Test func kustomizationListsEveryManifest() throws {
        let listed = Set(Doc.list(try Repo.yaml("ops/k8s/kustomization.yaml")["resources"]).compactMap { Doc.string($0) })
        let present = Set(try FileManager.default.contentsOfDirectory(atPath: Repo.url("ops/k8s").path)
            .filter { $0.hasSuffix(".yaml") && $0 != "kustomization.yaml" && !$0.contains(".example.") })
        #expect(listed == present)
    }

    @Test func everyWorkerHasADeploymentWithItsPortProbesAndLimits() throws {
        let deployments = objects("Deployment")
        #expect(Set(deployments.keys) == Set(facts.workers.map(\.product)))
        for worker in facts.workers {
            let deployment = try #require(deployments[worker.product])
            let pod = try #require(Doc.map(Doc.at(deployment, "spec.template.spec")))
            let containers = Doc.list(pod["containers"]).compactMap { Doc.map($0) }
            try #require(containers.count == 1)
            let container = containers[0]
            #expect(Doc.list(container["args"]).compactMap { Doc.string($0) } == [worker.product])
            let ports = Doc.list(container["ports"]).compactMap { Doc.map($0) }
            let status = try #require(ports.first { Doc.string($0["name"]) == "status" }, "\(worker.product) has no status port")
            #expect(Doc.int(status["containerPort"]) == worker.defaultPort)
            let env = Dictionary(uniqueKeysWithValues: Doc.list(container["env"]).compactMap { Doc.map($0) }
                .compactMap { item in Doc.string(item["name"]).map { ($0, Doc.string(item["value"]) ?? "") } })
            #expect(env["HOTLINE_HTTP_PORT"] == String(worker.defaultPort))
            for probe in ["startupProbe", "readinessProbe", "livenessProbe"] {
                #expect(Doc.string(Doc.at(container, "\(probe).httpGet.path")) == "/healthz", "\(worker.product) \(probe)")
                #expect(Doc.string(Doc.at(container, "\(probe).httpGet.port")) == "status", "\(worker.product) \(probe)")
            }
            let annotations = Doc.map(Doc.at(deployment, "spec.template.metadata.annotations")) ?? [:]
            #expect(Doc.string(annotations["prometheus.io/port"]) == String(worker.defaultPort))
            #expect(Doc.string(annotations["prometheus.io/scrape"]) == "true")
            #expect(Doc.string(Doc.at(container, "resources.requests.cpu")) != nil)
            #expect(Doc.string(Doc.at(container, "resources.limits.memory")) != nil)
            #expect(Doc.at(pod, "securityContext.runAsNonRoot") as? Bool == true)
            #expect(Doc.at(container, "securityContext.readOnlyRootFilesystem") as? Bool == true)
            #expect(Doc.at(container, "securityContext.allowPrivilegeEscalation") as? Bool == false)

            let configMaps = objects("ConfigMap")
            var grace = facts.shutdownGraceSeconds
            var names = Set(env.keys)
            for source in Doc.list(container["envFrom"]).compactMap({ Doc.map($0) }) {
                let name = try #require(Doc.string(Doc.at(source, "configMapRef.name")))
                let data = try #require(Doc.map(configMaps[name]?["data"]), "ConfigMap \(name) is not in the kustomization")
                names.formUnion(data.keys)
                grace = Doc.int(data["HOTLINE_SHUTDOWN_GRACE_SECONDS"]) ?? grace
            }
            let accepted = facts.accepted(by: worker.product)
            for name in names { #expect(accepted.contains(name), "\(worker.product) is given \(name), which it never reads") }
            let period = try #require(Doc.int(pod["terminationGracePeriodSeconds"]))
            #expect(period > grace + facts.escalationAfterGraceSeconds, "\(worker.product): killed after \(period) s")
        }
    }

    @Test func secretsAreMountedFilesNamedByTheExample() throws {
        let examples = try Repo.yamlDocuments("ops/k8s/secret.example.yaml")
        var keys: [String: Set<String>] = [:]
        for secret in examples {
            keys[Doc.string(Doc.at(secret, "metadata.name")) ?? ""] = Set((Doc.map(secret["stringData"]) ?? [:]).keys)
        }
        for object in objects("Deployment").values.map({ $0 }) + objects("Job").values.map({ $0 }) {
            let pod = try #require(Doc.map(Doc.at(object, "spec.template.spec")))
            for volume in Doc.list(pod["volumes"]).compactMap({ Doc.map($0) }) {
                guard let name = Doc.string(Doc.at(volume, "secret.secretName")) else { continue }
                let known = try #require(keys[name], "Secret \(name) is not in secret.example.yaml")
                for item in Doc.list(Doc.at(volume, "secret.items")).compactMap({ Doc.map($0) }) {
                    #expect(known.contains(Doc.string(item["key"]) ?? ""), "Secret \(name) has no key \(item["key"] ?? "")")
                }
            }
            let containers = (Doc.list(pod["initContainers"]) + Doc.list(pod["containers"])).compactMap { Doc.map($0) }
            for container in containers {
                for item in Doc.list(container["env"]).compactMap({ Doc.map($0) }) {
                    let name = Doc.string(item["name"]) ?? ""
                    #expect(!facts.secrets.contains(name), "\(name) in a manifest's environment: use \(name)_FILE")
                }
            }
        }
    }

    @Test func migrationJobRunsHotlineMigrateFirst() throws {
        let job = try #require(objects("Job")["hotline-migrate"])
        let first = try #require(Doc.list(Doc.at(job, "spec.template.spec.initContainers")).compactMap { Doc.map($0) }.first)
        #expect(Doc.list(first["args"]).compactMap { Doc.string($0) } == ["hotline", "migrate"])
        for container in (Doc.list(Doc.at(job, "spec.template.spec.initContainers")) + Doc.list(Doc.at(job, "spec.template.spec.containers"))).compactMap({ Doc.map($0) }) {
            for item in Doc.list(container["env"]).compactMap({ Doc.map($0) }) {
                #expect(facts.accepted(by: "hotline").contains(Doc.string(item["name"]) ?? ""))
            }
        }
    }

    @Test func scalingAndMonitoringPointAtRealThings() throws {
        let deployments = Set(objects("Deployment").keys)
        #expect(try Repo.text("sql/0001_queue.sql").contains("CREATE VIEW queue.queue_stats"))
        let queues = Set(facts.workers.map(\.queue))
        for object in try Repo.yamlDocuments("ops/k8s/autoscaling/scaledobjects.yaml") where Doc.string(object["kind"]) == "ScaledObject" {
            let target = try #require(Doc.string(Doc.at(object, "spec.scaleTargetRef.name")))
            #expect(deployments.contains(target))
            for trigger in Doc.list(Doc.at(object, "spec.triggers")).compactMap({ Doc.map($0) }) {
                let query = try #require(Doc.string(Doc.at(trigger, "metadata.query")))
                #expect(query.contains("FROM queue.queue_stats"))
                let queue = try #require(matches(#"queue = '([a-z-]+)'"#, in: query).first?[1])
                #expect(queues.contains(queue) && queue == target, "\(target) scales on the queue \(queue)")
            }
        }
        let monitor = try #require(try Repo.yamlDocuments("ops/k8s/monitoring/podmonitor.yaml").first)
        let endpoint = try #require(Doc.list(Doc.at(monitor, "spec.podMetricsEndpoints")).compactMap { Doc.map($0) }.first)
        #expect(Doc.string(endpoint["port"]) == "status")
        #expect(Doc.list(endpoint["relabelings"]).compactMap { Doc.map($0) }.contains { Doc.string($0["targetLabel"]) == "worker" })
    }
}
